/** Secure defaults of the standalone binary: loopback-only anonymous, JWT from the environment, TLS. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { childEnv } from '../helpers/child-env.js';
import { parseCli } from '../../bin/cli.js';
import { isLoopback, planSecurity } from '../../bin/security.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const SECRET = 'binary-test-secret-of-at-least-32-bytes!';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

interface Run { child: ChildProcess; lines: string[]; port: Promise<number>; exit: Promise<number | null> }

function run(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/herald.ts', ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const port = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listen line: ${lines.join('\n')}`)), 15_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        lines.push(line);
        const parsed = JSON.parse(line) as { msg: string; port?: number };
        if (parsed.msg.includes('listening')) { clearTimeout(timer); resolve(parsed.port!); }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => lines.push(d));
    void exit.then((code) => { clearTimeout(timer); reject(new Error(`exited with ${code}: ${lines.join('\n')}`)); });
  });
  port.catch(() => undefined);
  return { child, lines, port, exit };
}

describe('binary: secure defaults', () => {
  it('refuses to serve anonymous clients beyond loopback without --insecure (exit 2, before binding)', async () => {
    const flag = run(['--port', '0', '--host', '0.0.0.0']);
    expect(await flag.exit).toBe(2);
    expect(flag.lines.join('')).toMatch(/refusing to serve anonymous clients on 0\.0\.0\.0.*--insecure/);
    const env = run(['--port', '0'], { HOST: '::' });
    expect(await env.exit).toBe(2);
    expect(parseCli([], { HOST: '' }).host).toBe('127.0.0.1'); // an empty HOST is not "every interface"
  });

  it('on loopback with no auth it serves anonymous clients and says so in its log; HERALD_API_KEY guards the HTTP API', async () => {
    const r = run(['--port', '0'], { HERALD_API_KEY: 'binary-api-key-0123456789' });
    const port = await r.port;
    const publish = (authorization?: string): Promise<number> => fetch(`http://127.0.0.1:${port}/api/publish`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: '{"topic":"a","data":1}',
    }).then((res) => res.status);
    expect([await publish(), await publish('Bearer wrong-key-0123456789'), await publish('Bearer binary-api-key-0123456789')]).toEqual([401, 401, 200]);
    const warn = r.lines.map((l) => JSON.parse(l) as { level: number; msg: string }).find((l) => l.msg.includes('anonymous'));
    expect(warn?.level).toBe(40);
    expect(warn?.msg).toMatch(/loopback/);
  });

  it('with HERALD_JWT_SECRET and --tls-cert/--tls-key: wss only, tokens required, grants enforced', async () => {
    const r = run(['--port', '0', '--tls-cert', join(FIXTURES, 'tls-cert.pem'), '--tls-key', join(FIXTURES, 'tls-key.pem')], { HERALD_JWT_SECRET: SECRET });
    const port = await r.port;
    expect(r.lines.find((l) => l.includes('listening'))).toContain(`wss://127.0.0.1:${port}/ws`);
    const ca = readFileSync(join(FIXTURES, 'tls-cert.pem'));
    const token = await new SignJWT({ sub: 'ann', subscribe: ['news.*'], publish: ['news.today'] })
      .setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));
    const replies = await new Promise<unknown[]>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { ca, headers: { authorization: `Bearer ${token}` } });
      const got: unknown[] = [];
      ws.on('message', (d) => {
        got.push(JSON.parse(d.toString()));
        if (got.length === 4) { ws.close(); resolve(got); }
      });
      ws.on('open', () => {
        ws.send(JSON.stringify({ op: 'sub', id: 1, topic: 'news.*' }));
        ws.send(JSON.stringify({ op: 'sub', id: 2, topic: 'news.>' }));
        ws.send(JSON.stringify({ op: 'pub', id: 3, topic: 'news.today', data: 1 }));
      });
      ws.on('error', reject);
    });
    expect(replies).toContainEqual({ id: 1, ok: true });
    expect(replies).toContainEqual(expect.objectContaining({ id: 2, ok: false, error: expect.objectContaining({ code: 'forbidden' }) }));
    expect(replies).toContainEqual(expect.objectContaining({ id: 3, ok: true }));
    expect(replies).toContainEqual(expect.objectContaining({ op: 'msg', topic: 'news.today', data: 1 }));
    // Plain ws:// to the TLS port gets no WebSocket; a token signed with another secret gets 4001.
    await expect(new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      ws.on('open', resolve);
      ws.on('error', reject);
    })).rejects.toThrow();
    const forged = await new SignJWT({ sub: 'eve' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m')
      .sign(new TextEncoder().encode('another-secret-of-at-least-32-bytes!!!'));
    const code = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/ws?access_token=${forged}`, { ca });
      ws.on('close', (c) => resolve(c));
      ws.on('error', () => undefined);
    });
    expect(code).toBe(4001);
  });

  it('parses security flags and environment; --insecure is the only way past the loopback rule', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.8.9.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('localhost')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('::')).toBe(false);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(isLoopback('127.evil.example')).toBe(false);
    const open = parseCli(['--host', '0.0.0.0'], {}).security;
    expect(() => planSecurity(open, '0.0.0.0')).toThrow(/--insecure/);
    const insecure = planSecurity(parseCli(['--insecure'], {}).security, '0.0.0.0');
    expect(insecure.anonymous).toBe(true);
    expect(insecure.notices.some(([level, m]) => level === 'warn' && m.includes('ANYONE'))).toBe(true);
    const jwt = planSecurity(parseCli(['--jwt-secret', SECRET], {}).security, '0.0.0.0');
    expect(jwt.anonymous).toBe(false);
    expect(typeof jwt.options.hooks?.authenticate).toBe('function');
    const c = parseCli([], { HERALD_ALLOWED_ORIGINS: 'https://a.example, http://localhost:3000', HERALD_API_KEY: 'k-0123456789abcdef' }).security;
    expect(c.allowedOrigins).toEqual(['https://a.example', 'http://localhost:3000']);
    expect(planSecurity(c, '127.0.0.1').apiKey!('k-0123456789abcdef')).toBe(true);
    expect(() => parseCli(['--jwt-secret', 'short'], {})).toThrow(/32 bytes/);
    expect(() => parseCli(['--tls-cert', 'x'], {})).toThrow(/go together/);
    expect(() => parseCli(['--allowed-origins', 'evil.example'], {})).toThrow(/not an origin/);
    expect(() => parseCli([], { HERALD_JWT_SECRET: SECRET, HERALD_JWT_PUBLIC_KEY: 'x' })).toThrow(/not both/);
  });
});
