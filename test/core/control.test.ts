/**
 * Back-end control (core/control.ts) on two brokers sharing one memory bus, with real clients: ws
 * (`ws`), socket.io (`socket.io-client`), SSE (raw text/event-stream) and the Herald client. The same
 * commands over NATS: test/integration/nats-control.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HeraldClient, type DisconnectedEvent } from '../../client/index.js';
import { createMemoryBus, memoryAdapter } from '../../core/cluster/memory-adapter.js';
import type { Hooks } from '../../core/index.js';
import { HeraldError } from '../../core/errors.js';
import { VERSION } from '../../core/version.js';
import { socketio } from '../../transports/socketio/index.js';
import { sse } from '../../transports/sse/index.js';
import { decodeEventId } from '../../transports/sse/event-id.js';
import { ws } from '../../transports/ws/index.js';
import { startBroker, until, type Running } from '../helpers/broker.js';
import { closeSocketIoClients, connectSocketIo } from '../helpers/socketio-client.js';
import { SseReader } from '../helpers/sse-reader.js';
import { TestClient } from '../helpers/ws-client.js';

/** The token names the user; `chat.secret` may not be subscribed to by anyone (authorize). */
const hooks: Hooks = {
  authenticate: (h) => (h.token === undefined ? null : { user: h.token }),
  authorize: (_p, action, topic) => !(action === 'subscribe' && topic === 'chat.secret'),
};

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  closeSocketIoClients();
  for (const c of opened.splice(0)) { try { await c.close(); } catch { /* closed already */ } }
});

async function cluster(): Promise<[Running, Running]> {
  const bus = createMemoryBus();
  const transports = () => [ws(), socketio({ transports: ['websocket'] }), sse()];
  const a = await startBroker({ adapter: memoryAdapter({ bus }), transports: transports(), hooks, nodeId: 'node-a' });
  const b = await startBroker({ adapter: memoryAdapter({ bus }), transports: transports(), hooks, nodeId: 'node-b' });
  return [a, b];
}

async function wsAs(node: Running, user: string): Promise<TestClient> {
  const c = await TestClient.connect(node.url, { headers: { authorization: `Bearer ${user}` } });
  opened.push(c);
  return c;
}

async function sseAs(node: Running, user: string, topics: string[]): Promise<SseReader> {
  const q = topics.map((t) => `topic=${encodeURIComponent(t)}`).join('&');
  const r = await SseReader.open(`http://127.0.0.1:${node.port}/events?${q}`, { authorization: `Bearer ${user}` });
  opened.push(r);
  await r.waitFor(() => r.named('herald-ready').length === 1, 'herald-ready');
  return r;
}

describe('broker.disconnect', () => {
  it('closes every connection of a user on every node and transport with 4002, and no one else', async () => {
    const [a, b] = await cluster();
    const wsA = await wsAs(a, 'alice');
    await wsA.request('ping');
    const sio = await connectSocketIo(b.port, { token: 'alice' });
    const events = await sseAs(a, 'alice', ['chat.room']);
    const bob = await wsAs(b, 'bob');
    await bob.request('ping');
    await until(() => a.broker.stats().connections === 2 && b.broker.stats().connections === 2, 'four connections');

    const result = await b.broker.disconnect({ user: 'alice' }, { reason: 'logged out' });
    expect(result).toEqual({ connections: 3, nodes: { 'node-a': 2, 'node-b': 1 } });
    expect(await wsA.waitClose()).toBe(4002);
    expect(wsA.closeReason).toBe('logged out');
    await until(() => sio.closes.length === 1, 'herald:close');
    expect(sio.closes[0]).toEqual({ code: 4002, reason: 'logged out', reconnect: true });
    await events.waitEnd();
    expect(events.named('herald-close').map((e) => JSON.parse(e.data))).toEqual([{ code: 4002, reason: 'logged out', reconnect: true }]);
    expect((await bob.request('ping')).ok).toBe(true);
    expect(bob.closeCode).toBeUndefined();
    expect(a.broker.stats().disconnectsByCode['4002']).toBe(2);
  });

  it('one client by id; bad targets and codes are bad_request', async () => {
    const [a, b] = await cluster();
    const one = await wsAs(a, 'carol');
    const two = await wsAs(b, 'carol');
    const { client } = await one.request('auth', { token: 'carol' });
    await two.request('ping');
    expect(await a.broker.disconnect({ client }, { code: 4003 })).toEqual({ connections: 1, nodes: { 'node-a': 1, 'node-b': 0 } });
    expect(await one.waitClose()).toBe(4003);
    expect((await two.request('ping')).ok).toBe(true);
    const bad = (p: Promise<unknown>) => expect(p).rejects.toSatisfy((e: unknown) => e instanceof HeraldError && e.code === 'bad_request');
    await bad(a.broker.disconnect({ user: 'carol' }, { code: 4001 }));
    await bad(a.broker.disconnect({ user: 'carol', client: 'x' } as never));
    await bad(a.broker.disconnect({} as never));
    await bad(a.broker.disconnect({ user: '' }));
  });

  it('the Herald client reconnects after 4002 and stops for good after 4003', async () => {
    const [a] = await cluster();
    const c = new HeraldClient({ url: a.url, token: 'dave', minReconnectDelay: 10, maxReconnectDelay: 20 });
    opened.push(c);
    let connects = 0;
    c.on('connected', () => connects++);
    c.connect();
    await until(() => connects === 1, 'connected');
    await a.broker.disconnect({ user: 'dave' });
    await until(() => connects === 2, 'reconnected after 4002');
    const stopped = new Promise<DisconnectedEvent>((resolve) => c.on('disconnected', resolve));
    await a.broker.disconnect({ user: 'dave' }, { code: 4003, reason: 'banned' });
    const event = await stopped;
    expect(event.code).toBe(4003);
    expect(event.error?.closeCode).toBe(4003);
    expect(c.state).toBe('disconnected');
    // Stopped: no new connection arrives (the broker would count it).
    const before = a.broker.stats().connections;
    await c.ping().catch(() => undefined);
    expect(before).toBe(0);
    expect(a.broker.stats().connections).toBe(0);
    expect(connects).toBe(2);
  });
});

describe('broker.unsubscribe and broker.subscribe', () => {
  it('takes a user out of a topic on both nodes with an unsub push (reason server); later publications do not reach them', async () => {
    const [a, b] = await cluster();
    const wsA = await wsAs(a, 'erin');
    await wsA.request('sub', { topic: 'chat.room' });
    await wsA.request('sub', { topic: 'chat.other' });
    const sio = await connectSocketIo(b.port, { token: 'erin' });
    const sioUnsubs: unknown[] = [];
    sio.socket.on('herald:unsub', (m) => sioUnsubs.push(m));
    await sio.socket.emitWithAck('subscribe', 'chat.room');
    const events = await sseAs(a, 'erin', ['chat.room', 'chat.other']);
    const frank = await wsAs(b, 'frank');
    await frank.request('sub', { topic: 'chat.room' });

    expect(await a.broker.unsubscribe({ user: 'erin' }, 'chat.room')).toEqual({ connections: 3, nodes: { 'node-a': 2, 'node-b': 1 } });
    expect(await wsA.first((m) => m.op === 'unsub')).toEqual({ op: 'unsub', topic: 'chat.room', reason: 'server' });
    await until(() => sioUnsubs.length === 1, 'herald:unsub');
    expect(sioUnsubs).toEqual([{ topic: 'chat.room', reason: 'server' }]);
    await events.waitFor(() => events.named('herald-unsub').length === 1, 'herald-unsub');
    expect(JSON.parse(events.named('herald-unsub')[0]!.data)).toEqual({ topic: 'chat.room', reason: 'server' });

    await b.broker.publish('chat.room', 'after');
    await b.broker.publish('chat.other', 'other');
    await frank.waitForMessages(1, 'chat.room');
    await wsA.waitForMessages(1, 'chat.other');
    await events.waitFor(() => events.messages('chat.other').length === 1, 'chat.other on sse');
    expect(wsA.messages('chat.room')).toEqual([]);
    expect(events.messages('chat.room')).toEqual([]);
    expect(sio.messages).toEqual([]);
    expect(a.broker.stats().subscriptions).toBe(2); // wsA and the stream keep chat.other
  });

  it('subscribes a user\'s connections on both nodes, bypassing authorize: a sub push, then its publications', async () => {
    const [a, b] = await cluster();
    const wsA = await wsAs(a, 'gina');
    await wsA.request('ping');
    const sio = await connectSocketIo(b.port, { token: 'gina' });
    const sioSubs: unknown[] = [];
    sio.socket.on('herald:sub', (m) => sioSubs.push(m));
    const events = await sseAs(a, 'gina', ['chat.lobby']);
    expect((await wsA.request('sub', { topic: 'chat.secret' })).error.code).toBe('forbidden');
    const before = await a.broker.publish('chat.secret', 'before');

    expect(await b.broker.subscribe({ user: 'gina' }, 'chat.secret')).toEqual({ connections: 3, nodes: { 'node-a': 2, 'node-b': 1 } });
    const push = await wsA.first((m) => m.op === 'sub');
    expect(push).toEqual({ op: 'sub', topic: 'chat.secret', reason: 'server', offset: before.offset, epoch: before.epoch });
    await until(() => sioSubs.length === 1, 'herald:sub');
    expect(sioSubs).toEqual([{ topic: 'chat.secret', reason: 'server', offset: before.offset, epoch: before.epoch }]);
    await events.waitFor(() => events.named('herald-sub').length === 1, 'herald-sub');

    const pub = await b.broker.publish('chat.secret', 'hello');
    expect((await wsA.waitForMessages(1, 'chat.secret')).map((m) => m.data)).toEqual(['hello']);
    await until(() => sio.messages.length === 1, 'socket.io message');
    expect(sio.messages[0]).toMatchObject({ topic: 'chat.secret', data: 'hello', offset: pub.offset });
    await events.waitFor(() => events.messages('chat.secret').length === 1, 'sse message');
    // The stream's id now resumes the added topic too.
    expect(decodeEventId(events.id)?.get('chat.secret')).toEqual({ offset: pub.offset, epoch: pub.epoch });
    // The push came before the publication on the ws connection.
    const order = wsA.received.filter((m) => m.op === 'sub' || m.op === 'msg').map((m) => m.op);
    expect(order).toEqual(['sub', 'msg']);
  });

  it('the Herald client ends a subscription dropped with reason server, and surfaces server-side subscriptions', async () => {
    const [a] = await cluster();
    const c = new HeraldClient({ url: a.url, token: 'hugo' });
    opened.push(c);
    c.connect();
    const sub = c.subscribe('news.a');
    await sub.ready();
    const ended = new Promise((resolve) => sub.on('unsubscribed', resolve));
    await a.broker.unsubscribe({ user: 'hugo' }, 'news.a');
    expect(await ended).toEqual({ topic: 'news.a', reason: 'server' });
    expect(sub.state).toBe('unsubscribed');
    expect(c.getSubscription('news.a')).toBeUndefined();

    const announced = new Promise((resolve) => c.on('serverSubscribed', resolve));
    const got: unknown[] = [];
    c.on('message', (m) => got.push(m));
    await a.broker.subscribe({ user: 'hugo' }, 'news.*');
    expect(await announced).toEqual({ topic: 'news.*', position: undefined });
    await a.broker.publish('news.b', 'b');
    await until(() => got.length === 1, 'message of the server-side subscription');
    expect(got[0]).toMatchObject({ topic: 'news.b', data: 'b' });
    // The resubscribe the client did not make never happens: still not subscribed to news.a.
    await a.broker.publish('news.a', 'a');
    await until(() => got.length === 2, 'second message');
    expect(sub.state).toBe('unsubscribed');
  });
});

describe('broadcast, idempotent publish, topics, info, presence stats', () => {
  it('broadcast: one publication per topic with its own position; a subscriber of several gets each once', async () => {
    const [a, b] = await cluster();
    const all = await wsAs(b, 'ivy');
    await all.request('sub', { topic: 'room.*' });
    const one = await wsAs(a, 'jack');
    await one.request('sub', { topic: 'room.2' });
    const first = await a.broker.broadcast(['room.1', 'room.2', 'room.3'], { hi: 1 }, { idempotencyKey: 'b-1' });
    expect(first.results.map((r) => r.topic)).toEqual(['room.1', 'room.2', 'room.3']);
    // Each topic its own position: the first publication of each, as its own history says.
    for (const r of first.results) {
      expect(r.offset).toBe(1);
      expect((await a.broker.history(r.topic)).position).toEqual({ offset: 1, epoch: r.epoch });
    }
    const again = await b.broker.broadcast(['room.1', 'room.2', 'room.3'], { hi: 1 }, { idempotencyKey: 'b-1' });
    expect(again).toEqual(first);
    await a.broker.publish('room.2', 'marker');
    const got = await all.waitForMessages(4);
    expect(got.map((m) => [m.topic, m.data])).toEqual([['room.1', { hi: 1 }], ['room.2', { hi: 1 }], ['room.3', { hi: 1 }], ['room.2', 'marker']]);
    expect((await one.waitForMessages(2)).map((m) => m.data)).toEqual([{ hi: 1 }, 'marker']);
    await expect(a.broker.broadcast([], 1)).rejects.toSatisfy((e: unknown) => e instanceof HeraldError && e.code === 'bad_request');
    await expect(a.broker.broadcast(['a.*'], 1)).rejects.toSatisfy((e: unknown) => e instanceof HeraldError && e.code === 'invalid_topic');
  });

  it('idempotent publish: the same key on A then B is delivered once and answered alike; the window is configurable', async () => {
    const bus = createMemoryBus();
    const a = await startBroker({ adapter: memoryAdapter({ bus }), control: { idempotencyWindow: 60_000 } });
    const b = await startBroker({ adapter: memoryAdapter({ bus }), control: { idempotencyWindow: 60_000 } });
    const sub = await b.client();
    await sub.request('sub', { topic: 'orders' });
    const r1 = await a.broker.publish('orders', { id: 7 }, { idempotencyKey: 'order-7' });
    const r2 = await b.broker.publish('orders', { id: 7 }, { idempotencyKey: 'order-7' });
    expect(r2).toEqual(r1);
    const r3 = await b.broker.publish('orders', { id: 8 }, { idempotencyKey: 'order-8' });
    expect(r3.offset).toBe(r1.offset! + 1);
    const got = await sub.waitForMessages(2);
    expect(got.map((m) => m.data)).toEqual([{ id: 7 }, { id: 8 }]);
    expect(a.broker.stats().publicationsIn + b.broker.stats().publicationsIn).toBe(2);
  });

  it('an idempotency key is forgotten after the window (frozen clock moved past it)', async () => {
    const { broker } = await startBroker({ control: { idempotencyWindow: 1000 } });
    const realNow = Date.now;
    let now = realNow();
    Date.now = () => now;
    try {
      const r1 = await broker.publish('t', 1, { idempotencyKey: 'k' });
      now += 999;
      expect(await broker.publish('t', 1, { idempotencyKey: 'k' })).toEqual(r1);
      now += 2;
      expect((await broker.publish('t', 1, { idempotencyKey: 'k' })).offset).toBe(r1.offset! + 1);
    } finally {
      Date.now = realNow;
    }
  });

  it('topics and info list both nodes; presenceStats counts clients and users', async () => {
    const [a, b] = await cluster();
    const k1 = await wsAs(a, 'kim');
    await k1.request('sub', { topic: 'lobby' });
    await k1.request('sub', { topic: 'games.*' });
    const k2 = await wsAs(b, 'kim');
    await k2.request('sub', { topic: 'lobby' });
    const leo = await wsAs(b, 'leo');
    await leo.request('sub', { topic: 'lobby' });
    await sseAs(b, 'leo', ['games.chess']);

    expect(await a.broker.topics()).toEqual({
      topics: [
        { topic: 'games.*', subscribers: 1, nodes: { 'node-a': 1 } },
        { topic: 'games.chess', subscribers: 1, nodes: { 'node-b': 1 } },
        { topic: 'lobby', subscribers: 3, nodes: { 'node-a': 1, 'node-b': 2 } },
      ],
      truncated: false,
    });
    // Bounded: the busiest patterns first (ties by name), and it says so.
    expect(await b.broker.topics({ limit: 2 })).toEqual({
      topics: [
        { topic: 'games.*', subscribers: 1, nodes: { 'node-a': 1 } },
        { topic: 'lobby', subscribers: 3, nodes: { 'node-a': 1, 'node-b': 2 } },
      ],
      truncated: true,
    });
    await expect(a.broker.topics({ limit: 0 })).rejects.toSatisfy((e: unknown) => e instanceof HeraldError && e.code === 'bad_request');
    expect((await b.broker.topics({ pattern: 'games.>' })).topics.map((t) => t.topic)).toEqual(['games.*', 'games.chess']);
    await expect(a.broker.topics({ pattern: 'a..b' })).rejects.toSatisfy((e: unknown) => e instanceof HeraldError && e.code === 'invalid_topic');

    const { nodes } = await b.broker.info();
    expect(nodes.map((n) => n.id)).toEqual(['node-a', 'node-b']);
    expect(nodes[0]).toMatchObject({ version: VERSION, connections: 1, connectionsByTransport: { ws: 1 }, subscriptions: 2, topics: 2 });
    expect(nodes[1]).toMatchObject({ version: VERSION, connections: 3, connectionsByTransport: { ws: 2, sse: 1 }, subscriptions: 3, topics: 2 });
    expect(nodes[0]!.uptime).toBeGreaterThanOrEqual(0);

    expect(await a.broker.presenceStats('lobby')).toEqual({ clients: 3, users: 2 });
    expect(await a.broker.presenceStats('nobody')).toEqual({ clients: 0, users: 0 });
  });
});
