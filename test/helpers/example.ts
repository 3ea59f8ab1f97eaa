/** Runs an example the way its README does (node --conditions=herald-source --import tsx) and waits for its "listening" line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { childEnv } from './child-env.js';

const running: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  })));
});

export interface RunningExample {
  child: ChildProcess;
  /** The line that said it listens. */
  line: string;
  output: string[];
}

export function runExample(script: string, env: Record<string, string> = {}): Promise<RunningExample> {
  const child = spawn(process.execPath, ['--conditions=herald-source', '--import', 'tsx', script], {
    env: childEnv({ HERALD_LOG_LEVEL: 'warn', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${output.join('')}`)), 20_000);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      const line = text.split('\n').find((l) => l.includes('listening'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, line, output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}: ${output.join('')}`));
    });
  });
}

/** All `host:port` pairs in a line, in order. */
export function portsIn(line: string): number[] {
  return [...line.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
}
