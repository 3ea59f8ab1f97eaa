/**
 * Runs an example with the command its README gives (`npm run example:chat`, say), checked to be
 * in that README, and waits for its "listening" line. The command runs in its own process group,
 * so stopping it stops npm and the example under it alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, expect } from 'vitest';
import { childEnv } from './child-env.js';

const running: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => stopExample(child)));
});

/** SIGTERM to the whole group, SIGKILL after 5 s; resolves when the command has exited. */
export function stopExample(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const group = (signal: NodeJS.Signals) => { try { process.kill(-child.pid!, signal); } catch { /* gone */ } };
    const timer = setTimeout(() => group('SIGKILL'), 5000);
    timer.unref();
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    group('SIGTERM');
  });
}

export interface RunningExample {
  child: ChildProcess;
  /** The line that said it listens. */
  line: string;
  output: string[];
}

/**
 * `command` as the README of `examples/<example>` writes it (without environment assignments,
 * which go in `env`); `extraArgs` are appended the way a reader would (`-- --port 0`).
 */
export function runExample(example: string, command: string, env: Record<string, string> = {}, extraArgs = ''): Promise<RunningExample> {
  const readme = readFileSync(`examples/${example}/README.md`, 'utf8');
  expect(readme, `examples/${example}/README.md gives the command "${command}"`).toContain(command);
  const child = spawn('sh', ['-c', `exec ${command}${extraArgs ? ` ${extraArgs}` : ''}`], {
    env: childEnv({ HERALD_LOG_LEVEL: 'warn', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.push(child);
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start: ${output.join('')}`)), 30_000);
    let buffer = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      buffer += text;
      const line = buffer.split('\n').find((l) => l.includes('listening'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, line, output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code}: ${output.join('')}`));
    });
  });
}

/** All `host:port` pairs in a line, in order. */
export function portsIn(line: string): number[] {
  return [...line.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
}
