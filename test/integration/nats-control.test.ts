/**
 * Back-end control across two brokers over one real nats-server (JetStream on): each command given
 * to one node acts on the clients of both (control subject `<prefix>._c`), and idempotency keys hold
 * across nodes (JetStream KV bucket), on topics with and without history.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsAdapter } from '../../adapters/nats/index.js';
import type { Hooks } from '../../core/index.js';
import { socketio } from '../../transports/socketio/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';
import { startBroker, until, type Running } from '../helpers/broker.js';
import { startNatsServer, type NatsCluster, type NatsServer } from '../helpers/nats-server.js';
import { closeSocketIoClients, connectSocketIo } from '../helpers/socketio-client.js';
import { SseReader } from '../helpers/sse-reader.js';
import { TestClient } from '../helpers/ws-client.js';

let nats: NatsCluster & { server: NatsServer; url: string };
beforeAll(async () => { nats = await startNatsServer(); });
afterAll(async () => { await nats?.stop(); });

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  closeSocketIoClients();
  for (const c of opened.splice(0)) { try { await c.close(); } catch { /* closed already */ } }
});

const hooks: Hooks = { authenticate: (h) => (h.token === undefined ? null : { user: h.token }) };
let seq = 0;

/** Two nodes of a fresh cluster (own prefix), each knowing the other (info lists both). */
async function pair(history: string[] = ['>']): Promise<[Running, Running]> {
  const prefix = `ctl${process.pid}x${++seq}`;
  const node = (id: string) => startBroker({
    adapter: natsAdapter({ servers: nats.url, prefix, storage: 'memory', heartbeatMs: 200, nodeTimeoutMs: 1000 }),
    transports: [ws(), socketio({ transports: ['websocket'] }), sse()], hooks, nodeId: id, history: { topics: history },
  });
  const a = await node(`a${seq}`);
  const b = await node(`b${seq}`);
  let known = 0;
  const deadline = Date.now() + 5000;
  // Presence heartbeats tell each node of the other (not a sleep: each round is a cluster round trip).
  while (known < 2 && Date.now() < deadline) known = Math.min((await a.broker.info()).nodes.length, (await b.broker.info()).nodes.length);
  expect(known).toBe(2);
  return [a, b];
}

async function wsAs(node: Running, user: string): Promise<TestClient> {
  const c = await TestClient.connect(node.url, { headers: { authorization: `Bearer ${user}` } });
  opened.push(c);
  await c.request('ping');
  return c;
}

async function sseAs(node: Running, user: string, topics: string[]): Promise<SseReader> {
  const r = await SseReader.open(`http://127.0.0.1:${node.port}/events?${topics.map((t) => `topic=${t}`).join('&')}`, { authorization: `Bearer ${user}` });
  opened.push(r);
  await r.waitFor(() => r.named('herald-ready').length === 1, 'herald-ready');
  return r;
}

describe('nats: control commands reach both nodes', () => {
  it('disconnect: a user on ws (A), socket.io (B) and SSE (A) is closed with one call, others stay', async () => {
    const [a, b] = await pair();
    const wsA = await wsAs(a, 'alice');
    const sio = await connectSocketIo(b.port, { token: 'alice' });
    const stream = await sseAs(a, 'alice', ['news']);
    const bob = await wsAs(b, 'bob');
    await until(() => b.broker.stats().connections === 2, 'socket.io and bob on B');
    const result = await b.broker.disconnect({ user: 'alice' }, { code: 4003, reason: 'banned' });
    expect(result).toEqual({ connections: 3, nodes: { [a.broker.nodeId]: 2, [b.broker.nodeId]: 1 } });
    expect(await wsA.waitClose()).toBe(4003);
    await until(() => sio.closes.length === 1, 'herald:close on socket.io');
    expect(sio.closes[0]).toEqual({ code: 4003, reason: 'banned', reconnect: false });
    expect(await sio.disconnectReason).toBe('io server disconnect');
    await stream.waitEnd();
    expect(JSON.parse(stream.named('herald-close')[0]!.data)).toEqual({ code: 4003, reason: 'banned', reconnect: false });
    expect((await bob.request('ping')).ok).toBe(true);
  });

  it('unsubscribe and server-side subscribe reach the connections on both nodes, with their pushes', async () => {
    const [a, b] = await pair();
    const onA = await wsAs(a, 'carol');
    const onB = await wsAs(b, 'carol');
    await onA.request('sub', { topic: 'room.1' });
    await onB.request('sub', { topic: 'room.1' });
    expect(await a.broker.unsubscribe({ user: 'carol' }, 'room.1')).toEqual({ connections: 2, nodes: { [a.broker.nodeId]: 1, [b.broker.nodeId]: 1 } });
    for (const c of [onA, onB]) expect(await c.first((m) => m.op === 'unsub')).toEqual({ op: 'unsub', topic: 'room.1', reason: 'server' });

    const before = await b.broker.publish('room.2', 'before');
    expect(await a.broker.subscribe({ user: 'carol' }, 'room.2')).toEqual({ connections: 2, nodes: { [a.broker.nodeId]: 1, [b.broker.nodeId]: 1 } });
    for (const c of [onA, onB]) {
      expect(await c.first((m) => m.op === 'sub')).toEqual({ op: 'sub', topic: 'room.2', reason: 'server', offset: before.offset, epoch: before.epoch });
    }
    await a.broker.publish('room.1', 'not any more');
    const pub = await a.broker.publish('room.2', 'hello');
    for (const c of [onA, onB]) {
      expect((await c.waitForMessages(1, 'room.2')).map((m) => [m.data, m.offset])).toEqual([['hello', pub.offset]]);
      expect(c.messages('room.1')).toEqual([]);
    }
  });

  it('broadcast to three topics: each its own position, one publication per topic on the other node', async () => {
    const [a, b] = await pair();
    const sub = await wsAs(b, 'dan');
    await sub.request('sub', { topic: 'feed.*' });
    const { results } = await a.broker.broadcast(['feed.x', 'feed.y', 'feed.z'], { v: 1 });
    expect(results.map((r) => r.topic)).toEqual(['feed.x', 'feed.y', 'feed.z']);
    expect(new Set(results.map((r) => r.offset)).size).toBe(3); // stream sequences, one per publication
    const got = await sub.waitForMessages(3);
    expect(got.map((m) => m.topic).sort()).toEqual(['feed.x', 'feed.y', 'feed.z']);
    for (const m of got) expect(m.offset).toBe(results.find((r) => r.topic === m.topic)!.offset);
  });

  it('the same idempotency key sent to A then B gives one delivery and identical replies (with and without history)', async () => {
    const [a, b] = await pair(['kept.>']);
    const sub = await wsAs(b, 'erin');
    await sub.request('sub', { topic: 'kept.orders' });
    await sub.request('sub', { topic: 'live.orders' });
    const key = `order-${Date.now()}`;
    const r1 = await a.broker.publish('kept.orders', { id: 1 }, { idempotencyKey: key });
    const r2 = await b.broker.publish('kept.orders', { id: 1 }, { idempotencyKey: key });
    expect(r1.offset).toBeGreaterThan(0);
    expect(r2).toEqual(r1);
    const l1 = await a.broker.publish('live.orders', { id: 1 }, { idempotencyKey: `${key}-live` });
    const l2 = await b.broker.publish('live.orders', { id: 1 }, { idempotencyKey: `${key}-live` });
    expect(l1).toEqual({});
    expect(l2).toEqual({});
    // Markers published after the repeats: once they arrive, any repeat would have too.
    await a.broker.publish('kept.orders', 'marker');
    await a.broker.publish('live.orders', 'marker');
    await sub.waitForMessages(2, 'kept.orders');
    await sub.waitForMessages(2, 'live.orders');
    expect(sub.messages('kept.orders').map((m) => m.data)).toEqual([{ id: 1 }, 'marker']);
    expect(sub.messages('live.orders').map((m) => m.data)).toEqual([{ id: 1 }, 'marker']);
    expect(a.broker.stats().publicationsIn).toBe(4);
    expect(b.broker.stats().publicationsIn).toBe(0);
  });

  it('topics and info list both nodes; presenceStats is cluster-wide', async () => {
    const [a, b] = await pair();
    const f1 = await wsAs(a, 'fay');
    const f2 = await wsAs(b, 'fay');
    const g = await wsAs(b, 'gus');
    for (const c of [f1, f2, g]) await c.request('sub', { topic: 'hall' });
    await g.request('sub', { topic: 'hall.*' });
    expect(await a.broker.topics({ pattern: 'hall.>' })).toEqual({ topics: [{ topic: 'hall.*', subscribers: 1, nodes: { [b.broker.nodeId]: 1 } }], truncated: false });
    // The limit travels to the other node too: each answers its busiest, the merge keeps the busiest.
    expect(await a.broker.topics({ limit: 1 })).toEqual({ topics: [{ topic: 'hall', subscribers: 3, nodes: { [a.broker.nodeId]: 1, [b.broker.nodeId]: 2 } }], truncated: true });
    const all = await b.broker.topics();
    expect(all.topics.find((t) => t.topic === 'hall')).toEqual({ topic: 'hall', subscribers: 3, nodes: { [a.broker.nodeId]: 1, [b.broker.nodeId]: 2 } });
    const { nodes } = await a.broker.info();
    expect(nodes.map((n) => [n.id, n.connections, n.subscriptions])).toEqual([[a.broker.nodeId, 1, 1], [b.broker.nodeId, 2, 3]]);
    let stats = await a.broker.presenceStats('hall');
    const deadline = Date.now() + 3000;
    while (stats.clients < 3 && Date.now() < deadline) stats = await a.broker.presenceStats('hall');
    expect(stats).toEqual({ clients: 3, users: 2 });
  });
});
