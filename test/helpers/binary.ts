/** Runs the standalone binary from source (as `npm start` does) and resolves once it logged its address. */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach } from 'vitest';
import { childEnv } from './child-env.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

const REPO = resolve('.');

export interface BinaryPlace {
  /** Where the binary runs (default the repository), for what it resolves against it (./herald-data). */
  cwd?: string;
  /** A command the binary runs under (it must exec the rest of its arguments), e.g. one that mounts a small file system first. */
  prefix?: string[];
}

export function startBinary(args: string[], env: Record<string, string | undefined> = {}, place: BinaryPlace = {}): Promise<{ child: ChildProcess; port: number; lines: string[] }> {
  const argv = [...(place.prefix ?? []), process.execPath, '--import', resolve(REPO, 'node_modules/tsx/dist/loader.mjs'), resolve(REPO, 'bin/herald.ts'), ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: place.cwd ?? REPO, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`binary did not start: ${lines.join('\n')}`)), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        lines.push(line);
        const parsed = JSON.parse(line) as { msg: string; port?: number };
        if (parsed.msg.includes('listening')) {
          clearTimeout(timer);
          resolve({ child, port: parsed.port!, lines });
        }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => lines.push(d));
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`binary exited with ${code}: ${lines.join('\n')}`)); });
  });
}
