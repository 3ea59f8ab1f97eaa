/**
 * The HTTP control routes (transports/http/control.ts) on two brokers sharing one memory bus, with
 * real ws clients: each route acts cluster-wide, answers `{ok:true,...}` or a typed error, and is
 * refused without credentials (401) and with a token lacking `admin: true` (403).
 */
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createMemoryBus, memoryAdapter } from '../../../core/cluster/memory-adapter.js';
import { jwtAuth } from '../../../core/index.js';
import { httpApi } from '../../../transports/http/index.js';
import { ws } from '../../../transports/ws/index.js';
import { startBroker, type Running } from '../../helpers/broker.js';
import { TestClient } from '../../helpers/ws-client.js';

const SECRET = 'control-test-secret-of-32-bytes!!';
const API_KEY = 'control-api-key-0123456789';
const key = new TextEncoder().encode(SECRET);
const sign = (sub: string, claims: Record<string, unknown> = {}) =>
  new SignJWT({ subscribe: ['>'], publish: ['>'], ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('5m').sign(key);

async function pair(): Promise<[Running, Running]> {
  const bus = createMemoryBus();
  const node = (id: string) => startBroker({
    adapter: memoryAdapter({ bus }), nodeId: id, hooks: jwtAuth({ secret: SECRET }),
    transports: [ws(), httpApi({ apiKeys: [API_KEY] })],
  });
  return [await node('na'), await node('nb')];
}

async function call(node: Running, method: string, path: string, body?: unknown, token: string | null = API_KEY): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${node.port}/api/${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

async function userOn(node: Running, user: string): Promise<TestClient> {
  const c = await TestClient.connect(node.url, { headers: { authorization: `Bearer ${await sign(user)}` } });
  await c.request('ping');
  return c;
}

const ROUTES: [string, string, unknown?][] = [
  ['POST', 'broadcast', { topics: ['a'], data: 1 }],
  ['POST', 'disconnect', { user: 'x' }],
  ['POST', 'unsubscribe', { user: 'x', topic: 'a' }],
  ['POST', 'subscribe', { user: 'x', topic: 'a' }],
  ['GET', 'topics'],
  ['GET', 'info'],
  ['GET', 'presence-stats/a'],
];

describe('http control routes', () => {
  it('every route refuses a call without credentials (401), with a user token (403) and a wrong key (401)', async () => {
    const [a] = await pair();
    const user = await sign('ursula');
    for (const [method, path, body] of ROUTES) {
      const none = await call(a, method, path, body, null);
      expect([path, none.status, none.json.error.code]).toEqual([path, 401, 'unauthorized']);
      const plain = await call(a, method, path, body, user);
      expect([path, plain.status, plain.json.error.code]).toEqual([path, 403, 'forbidden']);
      const wrong = await call(a, method, path, body, 'not-the-key-at-all-0000');
      expect([path, wrong.status]).toEqual([path, 401]);
    }
    // Without an API key or an authenticate hook the control routes stay closed (never anonymous).
    const open = await startBroker({ transports: [ws(), httpApi()] });
    const res = await fetch(`http://127.0.0.1:${open.port}/api/info`);
    expect(res.status).toBe(401);
  });

  it('disconnect, unsubscribe and subscribe act on both nodes (an admin JWT or the API key)', async () => {
    const [a, b] = await pair();
    const onA = await userOn(a, 'vera');
    const onB = await userOn(b, 'vera');
    await onA.request('sub', { topic: 'room' });
    await onB.request('sub', { topic: 'room' });
    const admin = await sign('ops', { admin: true });

    expect(await call(a, 'POST', 'unsubscribe', { user: 'vera', topic: 'room' }, admin)).toEqual({ status: 200, json: { ok: true, connections: 2, nodes: { na: 1, nb: 1 } } });
    for (const c of [onA, onB]) expect(await c.first((m) => m.op === 'unsub')).toEqual({ op: 'unsub', topic: 'room', reason: 'server' });

    expect((await call(b, 'POST', 'subscribe', { user: 'vera', topic: 'alerts' })).json).toEqual({ ok: true, connections: 2, nodes: { na: 1, nb: 1 } });
    for (const c of [onA, onB]) expect(await c.first((m) => m.op === 'sub')).toMatchObject({ op: 'sub', topic: 'alerts', reason: 'server' });

    expect((await call(b, 'POST', 'disconnect', { user: 'vera', code: 4003, reason: 'banned' })).json).toEqual({ ok: true, connections: 2, nodes: { na: 1, nb: 1 } });
    expect(await onA.waitClose()).toBe(4003);
    expect(await onB.waitClose()).toBe(4003);
  });

  it('broadcast, idempotent publish, topics, info and presence-stats', async () => {
    const [a, b] = await pair();
    const sub = await userOn(b, 'walt');
    await sub.request('sub', { topic: 'feed.*' });
    await sub.request('sub', { topic: 'feed.x' });

    const first = await call(a, 'POST', 'broadcast', { topics: ['feed.x', 'feed.y'], data: 'hi', idempotencyKey: 'bc-1' });
    expect(first.json).toEqual({ ok: true, results: [{ topic: 'feed.x', offset: 1, epoch: expect.any(String) }, { topic: 'feed.y', offset: 1, epoch: expect.any(String) }] });
    expect((await call(b, 'POST', 'broadcast', { topics: ['feed.x', 'feed.y'], data: 'hi', idempotencyKey: 'bc-1' })).json).toEqual(first.json);

    const p1 = await call(a, 'POST', 'publish', { topic: 'feed.x', data: 'once', idempotencyKey: 'p-1' });
    const p2 = await call(b, 'POST', 'publish', { topic: 'feed.x', data: 'once', idempotencyKey: 'p-1' });
    expect(p1.json).toEqual({ ok: true, offset: 2, epoch: first.json.results[0].epoch });
    expect(p2.json).toEqual(p1.json);
    await call(a, 'POST', 'publish', { topic: 'feed.y', data: 'marker' });
    await sub.waitForMessages(4);
    expect(sub.messages().map((m) => [m.topic, m.data])).toEqual([['feed.x', 'hi'], ['feed.y', 'hi'], ['feed.x', 'once'], ['feed.y', 'marker']]);

    expect((await call(a, 'GET', 'topics?pattern=feed.x')).json).toEqual({ ok: true, topics: [{ topic: 'feed.x', subscribers: 1, nodes: { nb: 1 } }], truncated: false });
    expect((await call(a, 'GET', 'topics?limit=1')).json).toEqual({ ok: true, topics: [{ topic: 'feed.*', subscribers: 1, nodes: { nb: 1 } }], truncated: true });
    expect((await call(a, 'GET', 'topics')).json.topics.map((t: { topic: string }) => t.topic)).toEqual(['feed.*', 'feed.x']);
    const info = (await call(a, 'GET', 'info')).json;
    expect(info.nodes.map((n: { id: string; connections: number }) => [n.id, n.connections])).toEqual([['na', 0], ['nb', 1]]);
    expect((await call(a, 'GET', 'presence-stats/feed.x')).json).toEqual({ ok: true, clients: 1, users: 1 });
  });

  it('typed errors for bad input', async () => {
    const [a] = await pair();
    const bad = async (method: string, path: string, body: unknown, status: number, code: string) => {
      const r = await call(a, method, path, body);
      expect([path, r.status, r.json.ok, r.json.error.code]).toEqual([path, status, false, code]);
    };
    await bad('POST', 'disconnect', {}, 400, 'bad_request');
    await bad('POST', 'disconnect', { user: 'x', code: 1000 }, 400, 'bad_request');
    await bad('POST', 'disconnect', [1], 400, 'bad_request');
    await bad('POST', 'unsubscribe', { user: 'x' }, 400, 'bad_request');
    await bad('POST', 'subscribe', { client: 'c', topic: 'a..b' }, 400, 'invalid_topic');
    await bad('POST', 'broadcast', { topics: [], data: 1 }, 400, 'bad_request');
    await bad('POST', 'broadcast', { topics: ['a'] }, 400, 'bad_request');
    await bad('POST', 'publish', { topic: 'a', data: 1, idempotencyKey: 7 }, 400, 'bad_request');
    await bad('GET', 'topics?pattern=a..b', undefined, 400, 'invalid_topic');
    await bad('GET', 'topics?limit=-1', undefined, 400, 'bad_request');
    await bad('GET', 'topics?limit=100000', undefined, 400, 'bad_request');
    await bad('GET', 'presence-stats/a.*', undefined, 400, 'invalid_topic');
    const wrongMethod = await call(a, 'GET', 'disconnect');
    expect(wrongMethod.status).toBe(405);
  });
});
