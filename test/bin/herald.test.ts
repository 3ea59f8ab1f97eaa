import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCli } from '../../bin/cli.js';
import { startBinary } from '../helpers/binary.js';
import { childEnv } from '../helpers/child-env.js';
import { TestClient } from '../helpers/ws-client.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('herald binary', () => {
  it('reads flags over environment over defaults', () => {
    expect(parseCli([], {})).toMatchObject({ port: 8080, host: '127.0.0.1', help: false });
    expect(parseCli([], { PORT: '9000', HOST: '0.0.0.0' })).toMatchObject({ port: 9000, host: '0.0.0.0' });
    expect(parseCli(['--port', '7000'], { PORT: '9000' })).toMatchObject({ port: 7000 });
    expect(parseCli(['-h'], {}).help).toBe(true);
    expect(() => parseCli(['--port', '70000'], {})).toThrow(/port/);
    expect(() => parseCli(['--bogus'], {})).toThrow();
  });

  it('starts, logs one line saying where it listens, serves protocol v1, and shuts down on SIGTERM with 1001', async () => {
    const { child, port, lines } = await startBinary(['--port', '0', '--host', '127.0.0.1']);
    const listening = lines.filter((l) => l.includes('listening'));
    expect(listening).toHaveLength(1);
    expect(listening[0]).toContain(`127.0.0.1:${port}`);
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    await c.request('sub', { topic: 'bin.test' });
    await c.request('pub', { topic: 'bin.test', data: 'hi' });
    expect((await c.waitForMessages(1))[0]!.data).toBe('hi');
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const started = Date.now();
    child.kill('SIGTERM');
    expect(await c.waitClose()).toBe(1001);
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it('runs the same whatever HERALD_* variables the shell running the tests exported', async () => {
    const exported = { HERALD_CONFIG: '/nonexistent/herald.json', HERALD_NATS_URL: 'nats://127.0.0.1:1', HERALD_PORT: '1', PORT: '1' };
    const saved = Object.fromEntries(Object.keys(exported).map((k) => [k, process.env[k]]));
    Object.assign(process.env, exported);
    try {
      expect(childEnv({ HERALD_LOG_LEVEL: 'warn' })).toMatchObject({ HERALD_LOG_LEVEL: 'warn', PATH: process.env.PATH });
      expect(Object.keys(childEnv()).filter((k) => k.startsWith('HERALD_') || k === 'PORT')).toEqual([]);
      const { port } = await startBinary(['--port', '0']);
      const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      expect((await c.request('ping')).ok).toBe(true);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  }, 30_000);

  it('prints --help and exits 0; exits 2 on a bad flag', async () => {
    const run = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bin/herald.ts', ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.once('exit', (code) => resolve({ code, out }));
    });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: herald/);
    const bad = await run(['--port', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/--port/);
  }, 30_000);
});
