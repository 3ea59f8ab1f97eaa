import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const FORBIDDEN = /from\s+['"](ws|socket\.io|socket\.io-client|engine\.io|nats|@nats-io\/[^'"]+)['"]|import\(\s*['"](ws|socket\.io|nats|@nats-io\/[^'"]+)['"]\s*\)/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

// docs/architecture.md: embedding the core must never load a transport or cluster library.
describe('core/ import boundary', () => {
  it('no file in core/ imports ws, socket.io or NATS', () => {
    const files = sources('core');
    expect(files.length).toBeGreaterThan(5);
    const offenders = files.filter((f) => FORBIDDEN.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('loading the core entry point leaves those libraries unloaded (and the probe sees them when loaded)', () => {
    expect(loadedLibraries('./core/index.ts')).toEqual([]);
    // Control: the probe does notice a transport library when one is loaded.
    expect(loadedLibraries('./transports/ws/index.ts')).toContain('ws');
  });
});

function loadedLibraries(entry: string): string[] {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--conditions=herald-source', '--input-type=module', '-e', `
      await import('${entry}');
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(import.meta.url).cache ?? {});
      const names = loaded.map((p) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(p)?.[1]).filter((n) => n && /^(ws|socket\\.io.*|engine\\.io.*|@nats-io\\/.*|nats|lmdb)$/.test(n));
      console.log(JSON.stringify([...new Set(names)]));
    `], { encoding: 'utf8', cwd: process.cwd() });
    return JSON.parse(out.trim().split('\n').pop()!) as string[];
}
