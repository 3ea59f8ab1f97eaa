/**
 * Issue 12: one message rate per principal, shared by all its connections on every transport and
 * by its HTTP API requests (limits.principalRate / principalBurst). Anonymous clients are charged
 * per IP (here with exemptLoopback off, since the test runs on loopback).
 */
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { jwtAuth } from '../../core/auth/index.js';
import { startBroker } from '../helpers/broker.js';
import { closeSocketIoClients, connectSocketIo } from '../helpers/socketio-client.js';
import { TestClient } from '../helpers/ws-client.js';
import { httpApi } from '../../transports/http/index.js';
import { socketio } from '../../transports/socketio/index.js';
import { ws } from '../../transports/ws/index.js';

afterEach(() => closeSocketIoClients());

const SECRET = 'principal-rate-secret-of-at-least-32-bytes';
const key = new TextEncoder().encode(SECRET);
const token = (sub: string): Promise<string> =>
  new SignJWT({ sub, publish: ['>'], subscribe: ['>'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(key);

// A refill of 1 per second keeps the test about the burst: nothing comes back while it runs.
const limits = { principalRate: 1, principalBurst: 40, messageRate: 10_000, messageBurst: 10_000, rateLimitStrikes: 10_000 };

const publishOverHttp = (port: number, authorization: string | undefined) => fetch(`http://127.0.0.1:${port}/api/publish`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
  body: JSON.stringify({ topic: 't', data: 1 }),
});

type Reply = { ok: boolean; error?: { code: string } };

describe('message rate per principal', () => {
  it("one user's ws connections, socket.io and HTTP requests draw on one bucket; another user keeps its own", async () => {
    const b = await startBroker({ transports: [ws(), socketio(), httpApi()], hooks: jwtAuth({ secret: SECRET }), limits });
    const alice = await token('alice');
    const conns = await Promise.all([0, 1, 2].map(() => TestClient.connect(`${b.url}?access_token=${alice}`)));
    const sio = await connectSocketIo(b.port, { token: alice });
    const replies: Reply[] = [];
    for (let i = 0; i < 10; i++) for (const c of conns) replies.push(await c.request('pub', { topic: 't', data: i }) as Reply);
    for (let i = 0; i < 10; i++) replies.push(await sio.socket.emitWithAck('publish', 't', i) as Reply);
    expect(replies.every((r) => r.ok)).toBe(true); // 40: the burst, spread over four connections
    const http: number[] = [];
    for (let i = 0; i < 10; i++) http.push((await publishOverHttp(b.port, `Bearer ${alice}`)).status);
    // The refill (1/s) may let one or two through while the test runs; the rest are refused.
    expect(http.filter((s) => s === 429).length).toBeGreaterThanOrEqual(8);
    const refused = await publishOverHttp(b.port, `Bearer ${alice}`);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    const more: Reply[] = [];
    for (let i = 0; i < 5; i++) more.push(await conns[i % 3]!.request('pub', { topic: 't', data: i }) as Reply);
    expect(more.filter((r) => r.error?.code === 'rate_limited').length).toBeGreaterThanOrEqual(3);
    // Another user is not charged for Alice.
    const bob = await TestClient.connect(`${b.url}?access_token=${await token('bob')}`);
    expect(await bob.request('pub', { topic: 't', data: 'bob' })).toMatchObject({ ok: true });
    expect((await publishOverHttp(b.port, `Bearer ${await token('bob')}`)).status).toBe(200);
  });

  it('anonymous clients are charged per IP: more connections from one address buy nothing', async () => {
    const b = await startBroker({ transports: [ws(), httpApi()], limits: { ...limits, exemptLoopback: false } });
    const conns = await Promise.all([0, 1, 2, 3].map(() => b.client()));
    const replies: Reply[] = [];
    for (let i = 0; i < 20; i++) for (const c of conns) replies.push(await c.request('ping') as Reply);
    const ok = replies.filter((r) => r.ok).length;
    expect(ok).toBeGreaterThanOrEqual(40);
    expect(ok).toBeLessThanOrEqual(43);
    expect(replies.filter((r) => r.error?.code === 'rate_limited').length).toBe(80 - ok);
    expect((await publishOverHttp(b.port, undefined)).status).toBe(429);
  });
});
