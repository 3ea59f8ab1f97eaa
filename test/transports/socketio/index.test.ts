import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../../core/index.js';
import { socketio, SocketIoTransport } from '../../../transports/socketio/index.js';
import { ws } from '../../../transports/ws/index.js';
import { startBroker, sleep } from '../../helpers/broker.js';
import { countEncodings } from '../../helpers/encode-counter.js';
import { closeSocketIoClients, connectSocketIo } from '../../helpers/socketio-client.js';
import { until } from '../../helpers/until.js';

afterEach(() => closeSocketIoClients());

const strip = ({ id: _id, ...rest }: Record<string, any>) => rest;

describe('socket.io transport', () => {
  for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']] as const) {
    it(`speaks protocol v1 through events and acks (${transports.join(' then ')})`, async () => {
      const b = await startBroker({ transports: [ws(), socketio()] });
      const sio = await connectSocketIo(b.port, { transports: [...transports] });
      const wsClient = await b.client();
      const sub = await sio.socket.emitWithAck('subscribe', 'chat.a');
      expect(sub).toEqual(strip(await wsClient.request('sub', { topic: 'chat.a' })));
      expect(sub).toMatchObject({ ok: true, offset: 0 });
      const pub = await sio.socket.emitWithAck('publish', 'chat.a', { text: 'hi', n: [1, null] });
      expect(pub).toMatchObject({ ok: true, offset: 1, epoch: sub.epoch });
      await b.broker.publish('chat.a', 'from app');
      await until(() => sio.messages.length === 2, 'two messages');
      await wsClient.waitForMessages(2);
      expect(sio.messages).toEqual(wsClient.messages().map(({ op: _op, ...m }) => m));
      expect(sio.messages[0]).toEqual({ topic: 'chat.a', data: { text: 'hi', n: [1, null] }, offset: 1, epoch: sub.epoch });

      const presence = await sio.socket.emitWithAck('presence', 'chat.a');
      expect(presence.clients).toHaveLength(2);
      const history = await sio.socket.emitWithAck('history', 'chat.a', { limit: 1 });
      expect(history).toEqual(strip(await wsClient.request('history', { topic: 'chat.a', limit: 1 })));
      expect(await sio.socket.emitWithAck('unsubscribe', 'chat.a')).toEqual({ ok: true });
      await b.broker.publish('chat.a', 'after unsubscribe');
      await wsClient.waitForMessages(3);
      await sleep(20);
      expect(sio.messages).toHaveLength(2);
    });
  }

  it('recovers with since: replayed publications arrive before the ack that says recovered', async () => {
    const b = await startBroker({ transports: [socketio()] });
    const first = await b.broker.publish('r', 1);
    await b.broker.publish('r', 2);
    await b.broker.publish('r', 3);
    const sio = await connectSocketIo(b.port);
    const ack = await sio.socket.emitWithAck('subscribe', 'r', { since: first });
    expect(ack).toMatchObject({ ok: true, recovered: true, offset: 3 });
    expect(sio.messages.map((m) => m.data)).toEqual([2, 3]);
  });

  it('answers bad input with typed errors and closes repeat offenders with herald:close 4400', async () => {
    const b = await startBroker({ transports: [socketio()], limits: { protocolErrors: 6 } } as never);
    const sio = await connectSocketIo(b.port);
    expect((await sio.socket.emitWithAck('subscribe', 'a..b')).error.code).toBe('invalid_topic');
    expect((await sio.socket.emitWithAck('publish', 'a.*', 1)).error.code).toBe('invalid_topic');
    expect((await sio.socket.emitWithAck('publish', 'a')).error.code).toBe('bad_request');
    expect((await sio.socket.emitWithAck('subscribe', 'a', 'not options')).error.code).toBe('bad_request');
    expect((await sio.socket.emitWithAck('frobnicate', 1)).error).toEqual({ code: 'bad_request', message: 'unknown event "frobnicate"' });
    expect(b.broker.stats().connections).toBe(1);
    // Failures caught before the core (bad options, unknown event) also come as herald:error and count toward 4400.
    expect(sio.errors.map((e) => e.code)).toEqual(['bad_request', 'bad_request']);
    sio.socket.emit('subscribe', 42);
    await until(() => sio.errors.length === 3, 'herald:error');
    expect(sio.errors[2]).toMatchObject({ code: 'invalid_topic' });
    expect(await sio.disconnectReason).toBe('io server disconnect');
    expect(sio.closes).toEqual([{ code: 4400, reason: 'too many protocol errors', reconnect: false }]);
    await until(() => b.broker.stats().connections === 0, 'session freed');
  });

  it('a bare event packet (42/herald,) answers herald:error bad_request and counts toward 4400', async () => {
    const { WebSocket } = await import('ws');
    const b = await startBroker({ transports: [socketio()] });
    const raw = new WebSocket(`ws://127.0.0.1:${b.port}/socket.io/?EIO=4&transport=websocket`);
    const frames: string[] = [];
    raw.on('message', (d) => frames.push(String(d)));
    await until(() => frames.some((f) => f.startsWith('0{')), 'the engine.io open packet');
    raw.send('40/herald,');
    await until(() => frames.some((f) => f.startsWith('40/herald,')), 'the namespace connect');
    for (let i = 0; i < 10; i++) raw.send('42/herald,');
    await until(() => frames.some((f) => f.includes('"herald:close"')), 'herald:close');
    const events = frames.filter((f) => f.startsWith('42/herald,')).map((f) => JSON.parse(f.slice('42/herald,'.length)) as [string, any]);
    expect(events.filter(([name]) => name === 'herald:error').map(([, e]) => e.code)).toEqual(Array(10).fill('bad_request'));
    expect(events.at(-1)).toEqual(['herald:close', { code: 4400, reason: 'too many protocol errors', reconnect: false }]);
    await until(() => b.broker.stats().connections === 0, 'session freed');
    raw.close();
  });

  it('takes the token from the handshake auth, and says 4001 before disconnecting a bad one', async () => {
    const seen: (string | undefined)[] = [];
    const b = await startBroker({
      transports: [socketio()],
      hooks: { authenticate: (h) => { seen.push(h.token); if (h.token !== 'good-token') throw new Error('no'); return { user: 'ann' }; } },
    });
    const good = await connectSocketIo(b.port, { token: 'good-token' });
    expect(await good.socket.emitWithAck('subscribe', 'x')).toMatchObject({ ok: true });
    expect((await good.socket.emitWithAck('presence', 'x')).clients[0].user).toBe('ann');
    const bad = await connectSocketIo(b.port, { token: 'bad-token' });
    expect(await bad.disconnectReason).toBe('io server disconnect');
    expect(bad.closes).toEqual([{ code: 4001, reason: 'unauthorized', reconnect: false }]);
    expect(seen).toEqual(['good-token', 'bad-token']);
  });

  it('the auth event refreshes the token on a live socket: past the first expiry it stays, a socket that did not refresh gets 4001', async () => {
    const expiry = Date.now() + 800;
    const b = await startBroker({
      transports: [socketio()],
      hooks: {
        authenticate: (h) => {
          if (h.token === 'first') return { user: 'ann', expiresAt: expiry };
          if (h.token === 'second') return { user: 'ann', expiresAt: Date.now() + 60_000 };
          throw new Error('no');
        },
      },
    });
    const refreshed = await connectSocketIo(b.port, { token: 'first' });
    const stale = await connectSocketIo(b.port, { token: 'first' });
    expect(await refreshed.socket.emitWithAck('auth', 'second')).toEqual({ ok: true, client: expect.any(String), user: 'ann' });
    // Both first tokens expire at the same moment: once the stale socket is closed for it, the refreshed one is past it too.
    expect(await stale.disconnectReason).toBe('io server disconnect');
    expect(stale.closes).toEqual([{ code: 4001, reason: 'token expired', reconnect: false }]);
    expect(Date.now()).toBeGreaterThanOrEqual(expiry);
    expect(await refreshed.socket.emitWithAck('subscribe', 'x')).toMatchObject({ ok: true });
    expect(refreshed.closes).toEqual([]);
    // A refresh with a refused token ends the session: error ack, then herald:close 4001.
    expect(await refreshed.socket.emitWithAck('auth', 'bad')).toEqual({ ok: false, error: { code: 'unauthorized', message: 'invalid credentials' } });
    expect(await refreshed.disconnectReason).toBe('io server disconnect');
    expect(refreshed.closes).toEqual([{ code: 4001, reason: 'unauthorized', reconnect: false }]);
  });

  it('sends one engine.io packet per turn, with a frame encoded once for every subscriber', async () => {
    const transport = new SocketIoTransport();
    const b = await startBroker({ transports: [transport] });
    const clients = await Promise.all([0, 1, 2].map(() => connectSocketIo(b.port)));
    for (const c of clients) await c.socket.emitWithAck('subscribe', 'burst');
    const packets: unknown[] = [];
    for (const s of transport.server!.of('/herald').sockets.values()) s.conn.on('packetCreate', (p) => packets.push(p));
    const encodings = countEncodings();
    await Promise.all(Array.from({ length: 16 }, (_, i) => b.broker.publish('burst', i)));
    for (const c of clients) await until(() => c.messages.length === 16, '16 messages');
    for (const c of clients) expect(c.messages.map((m) => m.data)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    // 16 publications in one turn: one packet per client, not 16.
    expect(packets).toHaveLength(3);
    // Three subscribers, 16 publications: 16 encodings in all, each under the socket.io key.
    expect(Object.fromEntries(encodings.byKey)).toEqual({ 'socketio:/herald': 16 });
  });

  it('closes a client that stops reading at the outbound byte cap (4008) and frees its session', async () => {
    const b = await startBroker({ transports: [socketio()], limits: { outboundBytes: 64 * 1024 } } as never);
    const sio = await connectSocketIo(b.port);
    await sio.socket.emitWithAck('subscribe', 'flood');
    const raw = (sio.socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } }).ws._socket;
    raw.pause();
    const big = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 400 && b.broker.stats().slowConsumerCloses === 0; i++) {
      await b.broker.publish('flood', big);
      if (i % 20 === 0) await sleep(1);
    }
    expect(b.broker.stats().slowConsumerCloses).toBe(1);
    await until(() => b.broker.stats().connections === 0, 'session freed');
    expect(b.broker.stats().subscriptions).toBe(0);
  });

  it('on shutdown says herald:close 1001 and drops the transport so socket.io-client reconnects by itself', async () => {
    const b = await startBroker({ transports: [socketio()] });
    const sio = await connectSocketIo(b.port);
    await b.broker.close();
    expect(await sio.disconnectReason).toBe('transport close');
    expect(sio.closes).toEqual([{ code: 1001, reason: 'shutting down', reconnect: true }]);
  });

  it('a client that keeps going over the command rate gets rate_limited acks, then herald:close 4029 (reconnect: true) and its transport closed', async () => {
    const b = await startBroker({ transports: [socketio()], limits: { messageRate: 1, messageBurst: 2, rateLimitStrikes: 3 } } as never);
    const sio = await connectSocketIo(b.port);
    const other = await connectSocketIo(b.port);
    await other.socket.emitWithAck('subscribe', 'rl');
    const acks: Record<string, any>[] = [];
    for (let i = 0; i < 6; i++) sio.socket.emit('publish', 'rl', i, (reply: Record<string, any>) => acks.push(reply));
    // Like 1001 on Herald's own server: the engine.io connection goes, so socket.io-client may come back (after its delay).
    expect(await sio.disconnectReason).toBe('transport close');
    expect(sio.closes).toEqual([{ code: 4029, reason: 'rate limited', reconnect: true }]);
    // The burst of two ran; the next two were refused; the third strike closed it, and nothing after ran.
    expect(acks.filter((a) => !a.ok)).toEqual([
      { ok: false, error: { code: 'rate_limited', message: 'over 1 commands per second' } },
      { ok: false, error: { code: 'rate_limited', message: 'over 1 commands per second' } },
    ]);
    await until(() => b.broker.stats().connections === 1, 'the limited session freed');
    // Nobody else is touched.
    expect(await other.socket.emitWithAck('publish', 'rl', 'still here')).toMatchObject({ ok: true });
    await until(() => other.messages.length === 3, 'the publications');
    expect(other.messages.map((m) => m.data)).toEqual([0, 1, 'still here']);
  });

  it('pushes presence as join and leave events (payload without op) to a subscription that asked, not to others', async () => {
    const b = await startBroker({ transports: [ws(), socketio()], hooks: { authenticate: (h) => ({ user: h.token ?? null }) } }); // anonymous until `auth`
    const watcher = await connectSocketIo(b.port, { token: 'watcher' });
    const quiet = await connectSocketIo(b.port, { token: 'quiet' });
    const joins: Record<string, any>[] = [];
    const leaves: Record<string, any>[] = [];
    watcher.socket.on('join', (e) => joins.push(e));
    watcher.socket.on('leave', (e) => leaves.push(e));
    const quietEvents: unknown[] = [];
    quiet.socket.on('join', (e) => quietEvents.push(e));
    quiet.socket.on('leave', (e) => quietEvents.push(e));
    expect(await watcher.socket.emitWithAck('subscribe', 'room.1', { presence: true })).toMatchObject({ ok: true });
    expect(await quiet.socket.emitWithAck('subscribe', 'room.1')).toMatchObject({ ok: true });
    const ann = await b.client();
    await ann.request('auth', { token: 'ann' });
    await ann.request('sub', { topic: 'room.1' });
    await until(() => joins.length === 3, 'three joins (the watcher itself, quiet, ann)');
    expect(joins.map((j) => j.user)).toEqual(['watcher', 'quiet', 'ann']);
    expect(joins[2]).toEqual({ topic: 'room.1', client: expect.any(String), user: 'ann' });
    await ann.close();
    await until(() => leaves.length === 1, 'the leave');
    expect(leaves[0]).toEqual({ topic: 'room.1', client: joins[2]!.client, user: 'ann' });
    await watcher.socket.emitWithAck('presence', 'room.1'); // any push for quiet would be out by now too
    expect(quietEvents).toEqual([]);
  });

  it("lives next to an application's own socket.io server and namespaces", async () => {
    const server = createServer();
    const appIo = new Server(server);
    appIo.on('connection', (s) => s.on('echo', (v, ack) => ack(v)));
    appIo.of('/app').on('connection', (s) => s.on('hello', (ack) => ack('app here')));
    let broker: Broker | undefined;
    try {
      broker = await createBroker({ server, transports: [socketio({ io: appIo })], logger: false });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      const herald = await connectSocketIo(port);
      const main = await connectSocketIo(port, { namespace: '/' });
      const app = await connectSocketIo(port, { namespace: '/app' });
      await herald.socket.emitWithAck('subscribe', 'mixed');
      expect(await herald.socket.emitWithAck('publish', 'mixed', 'hi')).toMatchObject({ ok: true, offset: 1 });
      expect(await main.socket.emitWithAck('echo', 'pong')).toBe('pong');
      expect(await app.socket.emitWithAck('hello')).toBe('app here');
      // A Herald event on the application's namespace, which has no listener for it: a clear error, not silence.
      const stray = await main.socket.timeout(5000).emitWithAck('subscribe', 'mixed');
      expect(stray).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('"/herald"') } });
      await until(() => main.errors.length === 1, 'herald:error');
      await until(() => herald.messages.length === 1, 'message');
      await broker.close();
      // Herald leaves; the application's namespaces stay up.
      expect(await herald.disconnectReason).toBe('io server disconnect');
      expect(herald.closes[0]).toMatchObject({ code: 1001, reconnect: true });
      expect(await app.socket.emitWithAck('hello')).toBe('app here');
    } finally {
      await broker?.close();
      await new Promise((r) => appIo.close(() => r(undefined)));
    }
  });

  it('serves several namespaces: a stock io(url) on "/" is a full Herald namespace, and "/herald" keeps working', async () => {
    const b = await startBroker({ transports: [ws(), socketio({ namespace: ['/', '/herald'] })] });
    const main = await connectSocketIo(b.port, { namespace: '/' });
    const herald = await connectSocketIo(b.port, { namespace: '/herald' });
    expect(await main.socket.emitWithAck('subscribe', 'chat.*')).toMatchObject({ ok: true });
    expect(await herald.socket.emitWithAck('subscribe', 'chat.*')).toMatchObject({ ok: true });
    expect(await main.socket.emitWithAck('publish', 'chat.room42', { text: 'hi' })).toMatchObject({ ok: true });
    await until(() => main.messages.length === 1 && herald.messages.length === 1, 'both namespaces delivered');
    expect(main.messages[0]).toMatchObject({ topic: 'chat.room42', data: { text: 'hi' } });
    expect(herald.messages[0]).toEqual(main.messages[0]);
  });

  it('on its own server, an event on a namespace it does not serve gets an error ack and herald:error, never silence', async () => {
    const b = await startBroker({ transports: [socketio()] });
    const main = await connectSocketIo(b.port, { namespace: '/' });
    const reply = await main.socket.timeout(5000).emitWithAck('subscribe', 'chat.*');
    expect(reply).toEqual({ ok: false, error: { code: 'bad_request', message: expect.stringMatching(/not served on socket\.io namespace "\/".*"\/herald"/) } });
    main.socket.emit('publish', 'chat.a', 1); // no ack asked: the error still arrives
    await until(() => main.errors.length === 2, 'herald:error for both events');
    expect(main.errors[1]).toEqual(reply.error);
  });

  it('serves the socket.io client bundle on its path', async () => {
    const b = await startBroker({ transports: [socketio()] });
    const res = await fetch(`http://127.0.0.1:${b.port}/socket.io/socket.io.min.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('javascript');
    expect((await res.text()).length).toBeGreaterThan(10_000);
  });
});
