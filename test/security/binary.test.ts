/** Secure defaults of the standalone binary: loopback-only anonymous, JWT from the environment, TLS. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
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

/** The close code a WebSocket to `url` ends with after sending `first` (if any), or 'open' when it stayed up past a `sub`. */
function wsOutcome(url: string, options: { headers?: Record<string, string>; first?: unknown } = {}): Promise<number | 'subscribed'> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: options.headers });
    ws.on('open', () => {
      if (options.first !== undefined) ws.send(JSON.stringify(options.first));
      ws.send(JSON.stringify({ op: 'sub', id: 99, topic: 'news.today' }));
    });
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { id?: number; ok?: boolean };
      if (m.id === 99 && m.ok === true) { ws.close(); resolve('subscribed'); }
    });
    ws.on('close', (code) => resolve(code));
    ws.on('error', reject);
  });
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

  it('--jwt-public-key (ES256, from a file) with --jwt-audience and --jwt-issuer: only tokens with both pass; --no-metrics and --no-dashboard drop those endpoints', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const dir = mkdtempSync(join(tmpdir(), 'herald-jwt-'));
    const pemFile = join(dir, 'public.pem');
    writeFileSync(pemFile, await exportSPKI(publicKey));
    const r = run(['--port', '0', '--jwt-public-key', pemFile, '--jwt-audience', 'herald-tests', '--jwt-issuer', 'https://issuer.test', '--no-metrics', '--no-dashboard']);
    const port = await r.port;
    const sign = (claims: JWTPayload, key: CryptoKey | Uint8Array = privateKey, alg = 'ES256'): Promise<string> =>
      new SignJWT({ sub: 'ann', subscribe: ['news.*'], ...claims }).setProtectedHeader({ alg }).setExpirationTime('5m').sign(key);
    const url = `ws://127.0.0.1:${port}/ws`;
    const bearer = async (claims: JWTPayload, key?: CryptoKey | Uint8Array, alg?: string) =>
      wsOutcome(url, { headers: { authorization: `Bearer ${await sign(claims, key, alg)}` } });
    expect(await bearer({ aud: 'herald-tests', iss: 'https://issuer.test' })).toBe('subscribed');
    expect(await wsOutcome(url, { first: { op: 'auth', id: 1, token: await sign({ aud: 'herald-tests', iss: 'https://issuer.test' }) } })).toBe('subscribed');
    expect(await bearer({ aud: 'another-service', iss: 'https://issuer.test' })).toBe(4001);
    expect(await bearer({ iss: 'https://issuer.test' })).toBe(4001); // no aud at all
    expect(await bearer({ aud: 'herald-tests', iss: 'https://elsewhere.test' })).toBe(4001);
    expect(await bearer({ aud: 'herald-tests' })).toBe(4001); // no iss at all
    const other = await generateKeyPair('ES256');
    expect(await bearer({ aud: 'herald-tests', iss: 'https://issuer.test' }, other.privateKey)).toBe(4001);
    // An HMAC token signed with the public key's text must not pass as "verified with the key" (alg confusion).
    expect(await bearer({ aud: 'herald-tests', iss: 'https://issuer.test' }, new TextEncoder().encode(readFileSync(pemFile, 'utf8')), 'HS256')).toBe(4001);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    const listening = r.lines.find((l) => l.includes('listening'))!;
    expect(listening).not.toContain('/metrics');
    expect(listening).not.toMatch(/dashboard/i);
    expect(r.lines.join('\n')).toContain('JWT (public key)');
  });

  it('never writes a secret to a log line: JWT secret, API keys and tokens, at trace level, through good and bad requests and shutdown', async () => {
    const apiKey = 'log-check-api-key-0123456789';
    const wrongKey = 'log-check-wrong-key-9876543210';
    // The secret from a configuration file (the binary logs that it read one), the API key from the environment.
    const configFile = join(mkdtempSync(join(tmpdir(), 'herald-conf-')), 'herald.json');
    writeFileSync(configFile, JSON.stringify({ security: { jwtSecret: SECRET } }));
    const r = run(['--port', '0', '--config', configFile, '--log-level', 'trace', '--log-format', 'json'], { HERALD_API_KEY: apiKey });
    const port = await r.port;
    const key = new TextEncoder().encode(SECRET);
    const good = await new SignJWT({ sub: 'ann', subscribe: ['news.*'], publish: ['news.today'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(key);
    const forged = await new SignJWT({ sub: 'eve' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode('forged-secret-of-at-least-32-bytes-long!'));
    const url = `ws://127.0.0.1:${port}/ws`;
    expect(await wsOutcome(url, { headers: { authorization: `Bearer ${good}` } })).toBe('subscribed');
    expect(await wsOutcome(`${url}?access_token=${good}`)).toBe('subscribed');
    expect(await wsOutcome(url, { first: { op: 'auth', id: 1, token: good } })).toBe('subscribed');
    expect(await wsOutcome(`${url}?access_token=${forged}`)).toBe(4001);
    expect(await wsOutcome(url, { first: { op: 'auth', id: 1, token: forged } })).toBe(4001);
    const publish = (authorization: string) => fetch(`http://127.0.0.1:${port}/api/publish`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: '{"topic":"news.today","data":1}',
    }).then((res) => res.status);
    expect([await publish(`Bearer ${wrongKey}`), await publish(`Bearer ${apiKey}`), await publish(`Bearer ${good}`), await publish(`Bearer ${forged}`)]).toEqual([401, 200, 200, 401]);
    const stream = await fetch(`http://127.0.0.1:${port}/events?topic=news.today&access_token=${forged}`);
    expect(stream.status).toBe(401);
    // Metrics and the dashboard are on by default (the contrast to --no-metrics / --no-dashboard).
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    r.child.kill('SIGTERM');
    expect(await r.exit).toBe(0);
    const log = r.lines.join('\n');
    expect(log).toContain('stopped'); // the whole run was logged, up to the end
    expect(log).toContain('configuration file read');
    for (const secret of [SECRET, apiKey, wrongKey, good, forged, good.split('.')[2]!, forged.split('.')[2]!]) {
      expect(log.includes(secret), `a log line contains ${secret.slice(0, 12)}…`).toBe(false);
    }
    // A configuration error names the key, not its value.
    const short = run(['--port', '0'], { HERALD_JWT_SECRET: 'short-secret-value' });
    expect(await short.exit).toBe(2);
    expect(short.lines.join('\n')).toMatch(/32 bytes/);
    expect(short.lines.join('\n')).not.toContain('short-secret-value');
  });
});
