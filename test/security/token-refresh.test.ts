/**
 * Issue 12, defect 3: a token refresh (`auth` on an authenticated session) is a re-authentication.
 * Another user's token closes the session with 4001; the same user's new token re-authorizes every
 * subscription and its presence entry, dropping what it no longer grants with
 * `{op:'unsub', topic, reason:'forbidden'}` (socket.io: herald:unsub; the Herald client ends it).
 */
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { HeraldClient } from '../../client/index.js';
import { jwtAuth } from '../../core/auth/index.js';
import { startBroker, until } from '../helpers/broker.js';
import { closeSocketIoClients, connectSocketIo } from '../helpers/socketio-client.js';
import { socketio } from '../../transports/socketio/index.js';
import { ws } from '../../transports/ws/index.js';

afterEach(() => closeSocketIoClients());

const SECRET = 'token-refresh-secret-of-at-least-32-bytes';
const key = new TextEncoder().encode(SECRET);
const token = (claims: Record<string, unknown>, expiresIn: string | number = '5m'): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(expiresIn).sign(key);

const start = () => startBroker({ transports: [ws(), socketio()], hooks: jwtAuth({ secret: SECRET, clockTolerance: 0 }) });

describe('token refresh', () => {
  it("another user's token closes the session with 4001; the session never acts as either after", async () => {
    const b = await start();
    const c = await b.client();
    expect(await c.request('auth', { token: await token({ sub: 'alice', subscribe: ['chat.room1'] }) })).toMatchObject({ ok: true, user: 'alice' });
    expect(await c.request('sub', { topic: 'chat.room1' })).toMatchObject({ ok: true });
    const reply = await c.request('auth', { token: await token({ sub: 'mallory', subscribe: ['>'], publish: ['>'] }) });
    expect(reply).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await c.waitClose()).toBe(4001);
    await until(() => b.broker.stats().connections === 0, 'the session to be gone');
    expect(await b.broker.presence('chat.room1')).toEqual([]);
  });

  it('the same user with narrower grants loses what is no longer granted (unsub reason forbidden, presence gone), keeps the rest', async () => {
    const b = await start();
    const c = await b.client();
    await c.request('auth', { token: await token({ sub: 'alice', subscribe: ['chat.room1', 'chat.room2', 'news.>'], presence: ['chat.*'] }) });
    for (const topic of ['chat.room1', 'chat.room2', 'news.>']) expect(await c.request('sub', { topic })).toMatchObject({ ok: true });
    expect((await b.broker.presence('chat.room1')).map((e) => e.user)).toEqual(['alice']);
    const reply = await c.request('auth', { token: await token({ sub: 'alice', subscribe: ['chat.room2'] }) });
    expect(reply).toMatchObject({ ok: true, user: 'alice' });
    const unsubs = c.received.filter((m) => m.op === 'unsub');
    expect(unsubs).toEqual([
      { op: 'unsub', topic: 'chat.room1', reason: 'forbidden' },
      { op: 'unsub', topic: 'news.>', reason: 'forbidden' },
    ]);
    expect(c.received.indexOf(unsubs[1]!)).toBeLessThan(c.received.indexOf(reply)); // told before the reply
    await until(() => b.broker.stats().subscriptions === 1, 'one subscription left');
    expect(await b.broker.presence('chat.room1')).toEqual([]);
    expect((await b.broker.presence('chat.room2')).map((e) => e.user)).toEqual(['alice']);
    await b.broker.publish('chat.room1', 'secret');
    await b.broker.publish('news.eu', 'secret');
    await b.broker.publish('chat.room2', 'still yours');
    await c.waitForMessages(1);
    expect(c.messages().map((m) => m.data)).toEqual(['still yours']);
  });

  it('socket.io gets herald:unsub {topic, reason:"forbidden"}', async () => {
    const b = await start();
    const sio = await connectSocketIo(b.port, { token: await token({ sub: 'bob', subscribe: ['a', 'b'] }) });
    const unsubs: unknown[] = [];
    sio.socket.on('herald:unsub', (m) => unsubs.push(m));
    expect(await sio.socket.emitWithAck('subscribe', 'a')).toMatchObject({ ok: true });
    expect(await sio.socket.emitWithAck('subscribe', 'b')).toMatchObject({ ok: true });
    expect(await sio.socket.emitWithAck('auth', await token({ sub: 'bob', subscribe: ['b'] }))).toMatchObject({ ok: true });
    await until(() => unsubs.length === 1, 'herald:unsub');
    expect(unsubs).toEqual([{ topic: 'a', reason: 'forbidden' }]);
  });

  it('the Herald client ends a subscription dropped as forbidden with a forbidden error instead of resubscribing', async () => {
    const b = await start();
    const tokens = [await token({ sub: 'carol', subscribe: ['x'] }), await token({ sub: 'carol', subscribe: ['y'] })];
    const client = new HeraldClient({ url: b.url, getToken: () => tokens.shift() });
    try {
      await client.connect();
      const sub = client.subscribe('x');
      await sub.ready();
      const ended = new Promise<any>((resolve) => sub.once('unsubscribed', resolve));
      await client.refreshToken();
      const event = await ended;
      expect(event.error.code).toBe('forbidden');
      expect(sub.state).toBe('unsubscribed');
    } finally {
      await client.close();
    }
  });
});
