/**
 * JWT end to end on every transport (issue 5): each way of presenting a token (auth op, Bearer at
 * the upgrade, access_token, socket.io handshake auth.token, HTTP Bearer, API key), grants
 * enforced, expiry closing with 4001 unless refreshed.
 */
import { SignJWT } from 'jose';
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { jwtAuth } from '../../core/auth/index.js';
import { sleep, startBroker } from '../helpers/broker.js';
import { connectSocketIo } from '../helpers/socketio-client.js';
import { TestClient } from '../helpers/ws-client.js';
import { httpApi } from '../../transports/http/index.js';
import { socketio } from '../../transports/socketio/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';

const SECRET = 'end-to-end-secret-of-at-least-32-bytes!!';
const API_KEY = 'backend-api-key-0123456789';
const key = new TextEncoder().encode(SECRET);
const token = (claims: Record<string, unknown>, expiresIn: string | number = '5m'): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(expiresIn).sign(key);
const grants = { sub: 'ann', subscribe: ['room.*'], publish: ['room.1'] };

async function start(limits: Record<string, number> = {}) {
  return startBroker({
    transports: [ws(), socketio(), sse(), httpApi({ apiKeys: [API_KEY] })],
    hooks: jwtAuth({ secret: SECRET, clockTolerance: 0 }),
    limits,
  });
}

async function post(port: number, body: unknown, authorization?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** Reads a streaming response until `pattern` shows (or 3 s pass), then drops it. */
async function readUntil(url: string, pattern: RegExp, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  let text = '';
  const decoder = new TextDecoder();
  const timer = setTimeout(() => controller.abort(), 3000);
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      if (pattern.test(text)) break;
    }
  } catch {
    // aborted: the caller's assertions say what was missing
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { status: res.status, text };
}

describe('JWT on every transport', () => {
  it('ws: Bearer at the upgrade, access_token, or the auth op; grants enforced', async () => {
    const { url, broker } = await start();
    const t = await token(grants);
    const bearer = await TestClient.connect(url, { headers: { authorization: `Bearer ${t}` } });
    const query = await TestClient.connect(`${url}?access_token=${t}`);
    const op = await TestClient.connect(url);
    expect(await op.request('sub', { topic: 'room.1' })).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await op.request('auth', { token: t })).toMatchObject({ ok: true, user: 'ann' });
    for (const c of [bearer, query, op]) {
      expect(await c.request('sub', { topic: 'room.*' })).toMatchObject({ ok: true });
      expect(await c.request('sub', { topic: 'room.>' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect(await c.request('sub', { topic: 'other' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect(await c.request('pub', { topic: 'room.2', data: 'x' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
    expect(await bearer.request('pub', { topic: 'room.1', data: 'hello' })).toMatchObject({ ok: true });
    for (const c of [bearer, query, op]) expect((await c.waitForMessages(1, 'room.1'))[0]!.data).toBe('hello');
    expect(broker.stats().publicationsIn).toBe(1);
    // A bad token at the upgrade: 4001, no reconnecting with it.
    const bad = await TestClient.connect(url, { headers: { authorization: 'Bearer not-a-jwt' } });
    expect(await bad.waitClose()).toBe(4001);
  });

  it('ws: expiry closes with 4001 unless the client refreshes with a new auth', async () => {
    const { url } = await start();
    const shortLived = Math.floor(Date.now() / 1000) + 2;
    const stale = await TestClient.connect(url, { headers: { authorization: `Bearer ${await token(grants, shortLived)}` } });
    const refreshed = await TestClient.connect(url, { headers: { authorization: `Bearer ${await token(grants, shortLived)}` } });
    expect(await refreshed.request('auth', { token: await token(grants, '5m') })).toMatchObject({ ok: true });
    expect(await stale.waitClose(5000)).toBe(4001);
    expect(stale.closeReason).toMatch(/expired/);
    expect(await refreshed.request('ping')).toMatchObject({ ok: true });
    expect(refreshed.closeCode).toBeUndefined();
    // A refresh with a bad token is not a refresh: 4001 at once.
    expect(await refreshed.request('auth', { token: 'x.y.z' })).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await refreshed.waitClose()).toBe(4001);
  }, 15_000);

  it('ws: an unauthenticated connection is closed with 4001 after authTimeout', async () => {
    const { url } = await start({ authTimeout: 200 });
    const idle = await TestClient.connect(url);
    const started = Date.now();
    expect(await idle.waitClose(3000)).toBe(4001);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('socket.io: handshake auth.token; grants enforced; a bad token gets herald:close 4001', async () => {
    const { port } = await start();
    const good = await connectSocketIo(port, { token: await token(grants) });
    expect(await good.socket.emitWithAck('subscribe', 'room.*')).toMatchObject({ ok: true });
    expect(await good.socket.emitWithAck('subscribe', 'room.>')).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await good.socket.emitWithAck('publish', 'room.2', 1)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await good.socket.emitWithAck('publish', 'room.1', 1)).toMatchObject({ ok: true });
    const bad = await connectSocketIo(port, { token: await token(grants, -10) });
    expect(await bad.disconnectReason).toBe('io server disconnect');
    expect(bad.closes).toEqual([expect.objectContaining({ code: 4001, reconnect: false })]);
  });

  it('SSE: access_token or Bearer; a pattern outside the grants is refused, a missing token too', async () => {
    const { port, broker } = await start({ authTimeout: 300 });
    const t = await token(grants);
    const got: any[] = [];
    const es = new EventSource(`http://127.0.0.1:${port}/events?topic=room.*&access_token=${t}`);
    await new Promise<void>((resolve, reject) => { es.onopen = () => resolve(); es.onerror = (e) => reject(e); });
    es.onmessage = (e) => got.push(JSON.parse(e.data));
    await sleep(50);
    await broker.publish('room.7', 'sse');
    await broker.publish('secret', 'no');
    for (let i = 0; i < 100 && got.length === 0; i++) await sleep(10);
    es.close();
    expect(got.map((m) => m.data)).toEqual(['sse']);
    // A stream keeps its allowed topics; each refused one is a herald-error event, never data.
    const forbidden = await readUntil(`http://127.0.0.1:${port}/events?topic=secret`, /forbidden/, { authorization: `Bearer ${t}` });
    expect(forbidden.text).toMatch(/event: herald-error\ndata: .*"forbidden"/);
    // No token: an EventSource cannot send `auth` later, so the request is refused at once with 401.
    const anonymous = await readUntil(`http://127.0.0.1:${port}/events?topic=room.1`, /unauthorized/);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.text).error.code).toBe('unauthorized');
    expect(anonymous.text).not.toMatch(/"op":"msg"/);
  });

  it('HTTP API: API key (any topic) or a JWT with publish grants; 401 without, 403 outside the grants', async () => {
    const { port } = await start();
    const t = await token(grants);
    const results = {
      none: (await post(port, { topic: 'room.1', data: 1 })).status,
      wrongKey: (await post(port, { topic: 'room.1', data: 1 }, `Bearer ${API_KEY}x`)).status,
      apiKey: (await post(port, { topic: 'anything.at.all', data: 1 }, `Bearer ${API_KEY}`)).status,
      jwtGranted: (await post(port, { topic: 'room.1', data: 1 }, `Bearer ${t}`)).status,
      jwtOutside: (await post(port, { topic: 'room.2', data: 1 }, `Bearer ${t}`)).status,
      jwtExpired: (await post(port, { topic: 'room.1', data: 1 }, `Bearer ${await token(grants, -10)}`)).status,
      jwtForged: (await post(port, { topic: 'room.1', data: 1 }, `Bearer ${t.slice(0, -4)}AAAA`)).status,
    };
    expect(results).toEqual({ none: 401, wrongKey: 401, apiKey: 200, jwtGranted: 200, jwtOutside: 403, jwtExpired: 401, jwtForged: 401 });
    const history = await fetch(`http://127.0.0.1:${port}/api/history/secret`, { headers: { authorization: `Bearer ${t}` } });
    expect(history.status).toBe(403);
  });
});
