/**
 * `herald gentoken` and `herald api` (bin/tools.ts) through the real binary: a token it prints is
 * accepted by a running broker with its grants, and `herald api` drives that broker's control routes.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startBinary } from '../helpers/binary.js';
import { childEnv } from '../helpers/child-env.js';
import { TestClient } from '../helpers/ws-client.js';

const SECRET = 'tools-test-secret-that-is-32-bytes-long';
const API_KEY = 'tools-test-api-key-0123456789';

function herald(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/herald.ts', ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

describe('herald gentoken and herald api', () => {
  it('gentoken prints a JWT the broker accepts with exactly its grants; api calls the control routes', async () => {
    const env = { HERALD_JWT_SECRET: SECRET, HERALD_API_KEY: API_KEY };
    const { port } = await startBinary(['--port', '0', '--log-level', 'info', '--log-format', 'json', '--no-dashboard'], env);
    const made = await herald(['gentoken', '--user', 'alice', '--subscribe', 'chat.*', '--publish', 'chat.*', '--ttl', '1h'], env);
    expect(made.code).toBe(0);
    const token = made.out.trim();
    expect(token.split('.')).toHaveLength(3);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: 'alice', subscribe: ['chat.*'], publish: ['chat.*'] });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    expect(claims.admin).toBeUndefined();

    const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${token}` } });
    expect((await c.request('sub', { topic: 'chat.lobby' })).ok).toBe(true);
    expect((await c.request('sub', { topic: 'news.x' })).error.code).toBe('forbidden');

    const url = `http://127.0.0.1:${port}`;
    const info = await herald(['api', 'info', '--url', url], env);
    expect(info.code).toBe(0);
    const nodes = (JSON.parse(info.out) as { nodes: { connections: number }[] }).nodes;
    expect(nodes.map((n) => n.connections)).toEqual([1]);
    const topics = await herald(['api', 'topics', '{"pattern":"chat.>"}', '--url', url], env);
    const listed = JSON.parse(topics.out) as { ok: boolean; topics: { topic: string; subscribers: number; nodes: Record<string, number> }[] };
    expect(listed.topics.map((t) => [t.topic, t.subscribers, Object.values(t.nodes)])).toEqual([['chat.lobby', 1, [1]]]);

    // An admin token made by gentoken works as well as the API key.
    const admin = (await herald(['gentoken', '--user', 'ops', '--admin'], env)).out.trim();
    const stats = await herald(['api', 'presence-stats', '{"topic":"chat.lobby"}', '--url', url, '--token', admin], { HERALD_JWT_SECRET: SECRET });
    expect(JSON.parse(stats.out)).toEqual({ ok: true, clients: 1, users: 1 });
    const plain = await herald(['api', 'info', '--url', url, '--token', token], {});
    expect(plain.code).toBe(1);
    expect(JSON.parse(plain.out).error.code).toBe('forbidden');

    const gone = await herald(['api', 'disconnect', '{"user":"alice","code":4003,"reason":"banned"}', '--url', url], env);
    expect(JSON.parse(gone.out)).toMatchObject({ ok: true, connections: 1 });
    expect(await c.waitClose()).toBe(4003);
  }, 60_000);

  it('says what is missing: no secret, no user, a bad ttl, an unknown method, an unreachable broker', async () => {
    // Independent runs, started together.
    const [noSecret, noUser, badTtl, unknown, down] = await Promise.all([
      herald(['gentoken', '--user', 'bob']),
      herald(['gentoken'], { HERALD_JWT_SECRET: SECRET }),
      herald(['gentoken', '--user', 'bob', '--ttl', 'soon'], { HERALD_JWT_SECRET: SECRET }),
      herald(['api', 'explode']),
      herald(['api', 'info', '--url', 'http://127.0.0.1:9']),
    ]);
    expect([noSecret.code, noSecret.err]).toEqual([2, expect.stringContaining('HERALD_JWT_SECRET')]);
    expect([noUser.code, noUser.err]).toEqual([2, expect.stringContaining('--user')]);
    expect([badTtl.code, badTtl.err]).toEqual([2, expect.stringContaining('--ttl')]);
    expect([unknown.code, unknown.err]).toEqual([2, expect.stringContaining('methods: publish')]);
    expect([down.code, down.err]).toEqual([1, expect.stringContaining('cannot reach http://127.0.0.1:9/api/info')]);
  }, 60_000);
});
