import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const SOURCE_DIRS = ['core', 'transports', 'adapters', 'client', 'bin', 'ops'];

/** The import graph of the sources as madge resolves it: file -> the files it imports (packages left out). */
function importGraph(): Record<string, string[]> {
  const out = execFileSync(process.execPath, ['node_modules/madge/bin/cli.js', '--json', '--extensions', 'ts', ...SOURCE_DIRS], { encoding: 'utf8' });
  return JSON.parse(out) as Record<string, string[]>;
}

/** Every file `from` reaches through imports, itself left out. */
function reachable(graph: Record<string, string[]>, from: string): string[] {
  const seen = new Set<string>();
  const walk = (file: string): void => {
    for (const next of graph[file] ?? []) if (!seen.has(next)) { seen.add(next); walk(next); }
  };
  walk(from);
  return [...seen].sort();
}

// docs/architecture.md: the contract layer is a leaf, and nothing imports in a circle.
describe('import graph', () => {
  const graph = importGraph();

  it('has no circle', () => {
    expect(Object.keys(graph).length).toBeGreaterThan(50);
    const circles = Object.keys(graph).filter((file) => reachable(graph, file).includes(file));
    expect(circles).toEqual([]);
  });

  it('core/contracts.ts imports only types, from modules that import nothing else of the sources', () => {
    expect(reachable(graph, 'core/contracts.ts')).toEqual(['core/errors.ts', 'core/messages.ts', 'core/publication.ts']);
    const imports = readFileSync('core/contracts.ts', 'utf8').split('\n').filter((l) => /^import\b/.test(l));
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((l) => !l.startsWith('import type '))).toEqual([]);
  });

  it('the probe sees a circle when there is one', () => {
    expect(reachable({ a: ['b'], b: ['c'], c: ['a'] }, 'a')).toContain('a');
  });
});

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

  it('no file in core/ imports a file outside core/ (adapters, transports...): the arrows point into core', () => {
    const specifier = /(?:from\s+|import\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
    const outside = sources('core').flatMap((f) => [...readFileSync(f, 'utf8').matchAll(specifier)]
      .map((m) => relative('core', resolve(dirname(f), m[1]!)))
      .filter((target) => target.startsWith('..'))
      .map((target) => `${f} -> ${target}`));
    expect(outside).toEqual([]);
  });

  it('transports, adapters, ops plugins and the custom-transport example reach core through core/plugin.ts alone (herald/plugin)', () => {
    const specifier = /(?:from\s+|import\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;
    const files = ['transports', 'adapters', 'ops', 'examples/custom-transport'].flatMap((d) => sources(d));
    expect(files.length).toBeGreaterThan(10);
    const inward = files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(specifier)]
      .map((m) => relative('.', resolve(dirname(f), m[1]!)))
      .filter((target) => target.startsWith('core/') && target !== 'core/plugin.js')
      .map((target) => `${f} -> ${target}`));
    expect(inward).toEqual([]);
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
