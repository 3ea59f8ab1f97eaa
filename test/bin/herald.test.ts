import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCli } from '../../bin/cli.js';
import { startBinary } from '../helpers/binary.js';
import { until } from '../helpers/broker.js';
import { startNatsServer, type NatsCluster } from '../helpers/nats-server.js';
import { childEnv } from '../helpers/child-env.js';
import { TestClient } from '../helpers/ws-client.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/herald.ts', ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => resolve({ code, out: out + err, err }));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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
      // Only the fresh data directory every child gets (test/helpers/child-env.ts).
      expect(Object.keys(childEnv()).filter((k) => k.startsWith('HERALD_') || k === 'PORT')).toEqual(['HERALD_DATA_DIR']);
      const { port } = await startBinary(['--port', '0']);
      const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      expect((await c.request('ping')).ok).toBe(true);
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  }, 30_000);

  it('lists every endpoint in its listening line, says which origin policy is in force, and warns about a misspelled HERALD_* variable', async () => {
    const { port, lines } = await startBinary(['--port', '0'], { HERALD_JWT_SECRT: 'a typo' });
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; level: number; endpoints?: Record<string, string> });
    const listening = parsed.find((l) => l.msg.startsWith('herald listening'))!;
    const base = `http://127.0.0.1:${port}`;
    expect(listening.endpoints).toEqual({
      dashboard: `${base}/`, WebSocket: `ws://127.0.0.1:${port}/ws`, 'socket.io': `${base}/socket.io/ (namespaces /, /herald)`,
      SSE: `${base}/events`, 'HTTP API': `${base}/api/publish`, MQTT: `ws://127.0.0.1:${port}/mqtt (MQTT over WebSocket, subprotocol mqtt)`,
      client: `${base}/client.js`, metrics: `${base}/metrics`, ready: `${base}/readyz`, health: `${base}/healthz`,
    });
    for (const url of Object.values(listening.endpoints!)) expect(listening.msg).toContain(url);
    expect(parsed.find((l) => l.msg.startsWith('origins:'))?.msg).toMatch(/any page may connect, on every transport/);
    expect(parsed.find((l) => l.msg.includes('HERALD_JWT_SECRT'))).toMatchObject({ level: 40, msg: expect.stringContaining('did you mean HERALD_JWT_SECRET?') });

    const secured = await startBinary(['--port', '0'], { HERALD_JWT_SECRET: 'x'.repeat(32) });
    expect(secured.lines.find((l) => l.includes('origins:'))).toMatch(/only pages served by this broker/);
  }, 30_000);

  it('port in use: one clear line on stderr, no stack trace, exit 1', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const { port } = blocker.address() as { port: number };
    try {
      const result = await run(['--port', String(port)]);
      expect(result.code).toBe(1);
      const errLines = result.err.split('\n').filter(Boolean);
      expect(errLines).toEqual([`herald: port ${port} on 127.0.0.1 is already in use (another herald?): choose another with --port or PORT`]);
    } finally {
      blocker.close();
    }
  }, 30_000);

  it('pretty logs when asked (and on a terminal): readable lines, not JSON', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/herald.ts', '--port', '0'], { env: childEnv({ HERALD_LOG_FORMAT: 'pretty' }), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; if (out.includes('healthz')) resolve(); });
      child.once('exit', () => reject(new Error(out)));
    });
    expect(out).toMatch(/INFO.*herald listening on http:\/\/127\.0\.0\.1:\d+\n\s+dashboard\s+http:/);
    expect(out.split('\n')[0]!.startsWith('{')).toBe(false);
    child.kill('SIGTERM');
  }, 30_000);

  it('`npm start` hands signals to the broker: killing the npm process stops it (no orphan left serving)', async () => {
    const npm = spawn('npm', ['start', '--silent', '--', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv({ HERALD_LOG_FORMAT: 'json' }) });
    children.push(npm);
    const started = await new Promise<{ pid: number; port: number }>((resolve, reject) => {
      let buffer = '';
      npm.stdout.setEncoding('utf8').on('data', (d: string) => {
        buffer += d;
        const line = buffer.split('\n').find((l) => l.includes('herald listening'));
        if (line) resolve(JSON.parse(line) as { pid: number; port: number });
      });
      npm.once('exit', (code) => reject(new Error(`npm exited ${code}: ${buffer}`)));
    });
    expect(started.pid).not.toBe(npm.pid);
    const npmExit = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
    npm.kill('SIGTERM');
    await npmExit;
    // The broker process itself is gone, and with it the port.
    const deadline = Date.now() + 10_000;
    while (alive(started.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const orphaned = alive(started.pid);
    if (orphaned) process.kill(started.pid, 'SIGKILL'); // do not leave it behind for the next test
    expect(orphaned).toBe(false);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(started.port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(false); });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  }, 30_000);

  it('prints --help and exits 0; exits 2 on a bad flag', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: herald/);
    const bad = await run(['--port', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/--port/);
  }, 30_000);

  it('takes the NATS outbox bounds from the config file, HERALD_NATS_OUTBOX_* and flags, and refuses a bad one naming its source', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-outbox-config-'));
    try {
      const file = join(dir, 'herald.json');
      writeFileSync(file, JSON.stringify({ nats: { outboxBytes: 4096, outboxAgeMs: 700 } }));
      const fromFile = await run(['check-config', '--config', file]);
      expect(fromFile.code).toBe(0);
      expect(JSON.parse(fromFile.out).nats).toMatchObject({ outboxBytes: 4096, outboxAgeMs: 700 });
      const fromEnv = await run(['check-config', '--config', file], { HERALD_NATS_OUTBOX_BYTES: '5000', HERALD_NATS_OUTBOX_AGE_MS: '1500' });
      expect(JSON.parse(fromEnv.out).nats).toMatchObject({ outboxBytes: 5000, outboxAgeMs: 1500 });
      const fromFlags = await run(['check-config', '--nats-outbox-bytes', '6000', '--nats-outbox-age-ms', '2500'], { HERALD_NATS_OUTBOX_BYTES: '5000' });
      expect(JSON.parse(fromFlags.out).nats).toMatchObject({ outboxBytes: 6000, outboxAgeMs: 2500 });
      const defaults = await run(['check-config']);
      expect(JSON.parse(defaults.out).nats).toMatchObject({ outboxBytes: 8 * 1024 * 1024, outboxAgeMs: 10_000 });
      const zero = await run(['--nats-outbox-bytes', '0']);
      expect(zero.code).toBe(2);
      expect(zero.out).toMatch(/nats\.outboxBytes \(--nats-outbox-bytes\)/);
      const text = await run([], { HERALD_NATS_OUTBOX_AGE_MS: 'soon' });
      expect(text.code).toBe(2);
      expect(text.out).toMatch(/nats\.outboxAgeMs \(env HERALD_NATS_OUTBOX_AGE_MS\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  describe('over NATS', () => {
    let nats: NatsCluster & { url: string; server: { kill(): Promise<void> } };
    afterEach(async () => { await nats?.stop(); });

    it('applies the outbox bounds it was given: while NATS is down a publish over the byte bound is refused at once, one waiting past the age bound after it', async () => {
      nats = await startNatsServer();
      const { port, lines } = await startBinary(['--port', '0', '--nats', nats.url, '--nats-outbox-bytes', '2000'], { HERALD_NATS_OUTBOX_AGE_MS: '400' });
      const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      expect((await c.request('pub', { topic: 'bin.outbox', data: 'up' })).ok).toBe(true);
      await nats.server.kill();
      await until(() => lines.some((l) => l.includes('NATS connection lost')), 'the binary noticed the outage', 10_000);
      // Under the default 8 MiB bound this would wait in the outbox (and then age out after 10 s).
      const big = await c.request('pub', { topic: 'bin.outbox', data: 'x'.repeat(3000) });
      expect(big).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      expect(String((big.error as { message: string }).message)).toContain('(2000 bytes)');
      const small = await c.request('pub', { topic: 'bin.outbox', data: 'small' });
      expect(small).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      expect(String((small.error as { message: string }).message)).toContain('unreachable for 400 ms');
      c.close();
    }, 60_000);
  });
});
