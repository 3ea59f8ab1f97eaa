import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dataRoot: string | undefined;

/** A fresh directory under this test process's own root, removed when the process exits. */
export function freshDataDir(): string {
  if (dataRoot === undefined) {
    const root = mkdtempSync(join(tmpdir(), 'herald-test-data-'));
    dataRoot = root;
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  return mkdtempSync(join(dataRoot, 'd-'));
}

/**
 * The environment for a child process a test starts: the runner's own, minus everything that would
 * configure Herald (HERALD_*, and PORT and HOST, which the binary reads), plus what the test sets. A developer's
 * shell with HERALD_NATS_URL or HERALD_CONFIG exported must not change what a test measures.
 * Each child gets a fresh HERALD_DATA_DIR, so binaries started side by side never share (and lock)
 * ./herald-data in the repository; a test of the default passes `HERALD_DATA_DIR: undefined`.
 */
export function childEnv(extra: Record<string, string | undefined> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (key.startsWith('HERALD_') || key === 'PORT' || key === 'HOST') continue;
    env[key] = value;
  }
  const merged: NodeJS.ProcessEnv = { HERALD_DATA_DIR: freshDataDir(), ...env, ...extra };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return merged;
}
