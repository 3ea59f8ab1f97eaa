/**
 * Herald brokers clustered over one real nats-server (JetStream on): publications cross nodes over
 * every transport, presence is cluster-wide and a killed node's clients leave it, a node without
 * interest gets no NATS traffic, and a NATS outage keeps local delivery going.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { io, type Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsAdapter, type NatsAdapter, type NatsAdapterOptions } from '../../adapters/nats/index.js';
import { httpApi } from '../../transports/http/index.js';
import { socketio } from '../../transports/socketio/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';
import { sleep, startBroker, type Running } from '../helpers/broker.js';
import { startNatsServer, type NatsCluster, type NatsServer } from '../helpers/nats-server.js';
import { childEnv } from '../helpers/child-env.js';
import { SseReader } from '../helpers/sse-reader.js';
import { TestClient } from '../helpers/ws-client.js';
import { until } from '../helpers/until.js';

let nats: NatsCluster & { server: NatsServer; url: string };
beforeAll(async () => { nats = await startNatsServer(); });
afterAll(async () => { await nats?.stop(); });

const clients: { close(): unknown }[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) { try { await c.close(); } catch { /* already closed */ } }
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

let seq = 0;
const uniquePrefix = () => `it${process.pid}x${++seq}`;

interface Node extends Running { adapter: NatsAdapter }

async function node(prefix: string, extra: NatsAdapterOptions = {}, allTransports = false): Promise<Node> {
  const adapter = natsAdapter({ servers: nats.url, prefix, storage: 'memory', heartbeatMs: 200, nodeTimeoutMs: 1000, reconnectTimeWaitMs: 200, ...extra });
  const running = await startBroker({ adapter, transports: allTransports ? [ws(), socketio({ transports: ['websocket'] }), sse(), httpApi()] : [ws()] });
  return { ...running, adapter };
}

async function wsClient(n: Running): Promise<TestClient> {
  const c = await n.client();
  clients.push(c);
  return c;
}

describe('nats cluster: cross-node delivery', () => {
  it('ws subscribers on node B receive what a ws client publishes on node A, with positions', async () => {
    const prefix = uniquePrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    const subscriber = await wsClient(b);
    const wildcard = await wsClient(b);
    const publisher = await wsClient(a);
    expect((await subscriber.request('sub', { topic: 'chat.room1' })).ok).toBe(true);
    expect((await wildcard.request('sub', { topic: 'chat.*' })).ok).toBe(true);
    const replies = [];
    for (let i = 0; i < 20; i++) replies.push(await publisher.request('pub', { topic: 'chat.room1', data: { i } }));
    const got = await subscriber.waitForMessages(20, 'chat.room1');
    expect(got.map((m) => m.data.i)).toEqual([...Array(20).keys()]);
    // Same position on both nodes: the offset is JetStream's, not a per-node counter.
    expect(got.map((m) => [m.offset, m.epoch])).toEqual(replies.map((r) => [r.offset, r.epoch]));
    expect((await wildcard.waitForMessages(20, 'chat.room1')).map((m) => m.data.i)).toEqual([...Array(20).keys()]);
    expect(publisher.messages()).toHaveLength(0);
  });

  it('socket.io and ws clients cross nodes in both directions', async () => {
    const prefix = uniquePrefix();
    const a = await node(prefix, {}, true);
    const b = await node(prefix, {}, true);
    const sio: Socket = io(`http://127.0.0.1:${b.port}/herald`, { transports: ['websocket'], reconnection: false });
    clients.push({ close: () => sio.close() });
    const sioGot: any[] = [];
    sio.on('message', (m) => sioGot.push(m));
    await new Promise<void>((resolve, reject) => { sio.once('connect', () => resolve()); sio.once('connect_error', reject); });
    const ack = await sio.timeout(5000).emitWithAck('subscribe', 'feed.x', {});
    expect(ack.ok).toBe(true);
    const wsOnA = await wsClient(a);
    await wsOnA.request('sub', { topic: 'feed.y' });
    // ws on A -> socket.io on B
    const pub = await wsOnA.request('pub', { topic: 'feed.x', data: 'from-ws' });
    await until(() => sioGot.length === 1, 'socket.io message', 5000);
    expect(sioGot[0]).toMatchObject({ topic: 'feed.x', data: 'from-ws', offset: pub.offset, epoch: pub.epoch });
    // socket.io on B -> ws on A
    const sioPub = await sio.timeout(5000).emitWithAck('publish', 'feed.y', { n: 2 });
    expect(sioPub.ok).toBe(true);
    const [m] = await wsOnA.waitForMessages(1, 'feed.y');
    expect(m).toMatchObject({ data: { n: 2 }, offset: sioPub.offset, epoch: sioPub.epoch });
  });

  it('SSE subscribers on node B get HTTP API and ws publications from node A, and resume on node A by Last-Event-ID', async () => {
    const prefix = uniquePrefix();
    const a = await node(prefix, {}, true);
    const b = await node(prefix, {}, true);
    const onB = await SseReader.open(`http://127.0.0.1:${b.port}/events?topic=sse.feed`);
    clients.push(onB);
    await onB.waitFor(() => onB.named('herald-ready').length === 1, 'herald-ready');
    const post = (data: unknown) => fetch(`http://127.0.0.1:${a.port}/api/publish`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'sse.feed', data }),
    }).then((r) => r.json() as Promise<any>);
    const first = await post('http-1');
    expect(first).toMatchObject({ ok: true });
    const wsOnA = await wsClient(a);
    const second = await wsOnA.request('pub', { topic: 'sse.feed', data: 'ws-2' });
    await onB.waitFor(() => onB.messages('sse.feed').length === 2, 'two SSE messages on B');
    expect(onB.messages('sse.feed').map((m) => [m.data, m.offset])).toEqual([['http-1', first.offset], ['ws-2', second.offset]]);
    // The stream drops; two more are published; the browser comes back to the other node with its id.
    const lastId = onB.id;
    onB.close();
    await post('http-3');
    await post('http-4');
    const onA = await SseReader.open(`http://127.0.0.1:${a.port}/events?topic=sse.feed`, { 'Last-Event-ID': lastId });
    clients.push(onA);
    await onA.waitFor(() => onA.messages('sse.feed').length === 2, 'replay on node A');
    expect(onA.messages('sse.feed').map((m) => m.data)).toEqual(['http-3', 'http-4']);
  });

  it('a client that moves from node A to node B recovers what it missed from JetStream', async () => {
    const prefix = uniquePrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    const first = await wsClient(a);
    const sub = await first.request('sub', { topic: 'news.eu' });
    const publisher = await wsClient(a);
    await publisher.request('pub', { topic: 'news.eu', data: 0 });
    const [seen] = await first.waitForMessages(1, 'news.eu');
    expect(seen!.offset).toBeGreaterThan(sub.offset);
    await first.close();
    for (let i = 1; i <= 5; i++) await publisher.request('pub', { topic: 'news.eu', data: i });
    const moved = await wsClient(b);
    const reply = await moved.request('sub', { topic: 'news.eu', since: { offset: seen!.offset, epoch: seen!.epoch } });
    expect(reply.recovered).toBe(true);
    expect(moved.messages('news.eu').map((m) => m.data)).toEqual([1, 2, 3, 4, 5]);
    // Live continues after the replay, without duplicates.
    await publisher.request('pub', { topic: 'news.eu', data: 6 });
    expect((await moved.waitForMessages(6, 'news.eu')).map((m) => m.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('nats cluster: presence', () => {
  it('lists clients of every node and pushes joins and leaves across nodes', async () => {
    const prefix = uniquePrefix();
    const a = await node(prefix);
    const b = await node(prefix);
    const watcher = await wsClient(a);
    await watcher.request('sub', { topic: 'room.1', presence: true });
    const joiner = await wsClient(b);
    const joinPush = watcher.next((m) => m.op === 'join' && m.topic === 'room.1');
    await joiner.request('sub', { topic: 'room.1' });
    const join = await joinPush;
    const fromA = await watcher.request('presence', { topic: 'room.1' });
    expect(fromA.clients).toHaveLength(2);
    expect(fromA.clients.map((c: any) => c.client)).toContain(join.client);
    const leavePush = watcher.next((m) => m.op === 'leave' && m.client === join.client);
    await joiner.request('unsub', { topic: 'room.1' });
    await leavePush;
    expect((await watcher.request('presence', { topic: 'room.1' })).clients).toHaveLength(1);
  });

  it('removes the clients of a node killed with -9 within the heartbeat timeout', async () => {
    const prefix = uniquePrefix();
    const b = await node(prefix, { heartbeatMs: 200, nodeTimeoutMs: 1000 });
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/nats-node.ts',
      JSON.stringify({ servers: nats.url, prefix, storage: 'memory', heartbeatMs: 200 })], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const line = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: child.stdout! });
      rl.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`node process exited with ${code}`)));
      setTimeout(() => reject(new Error('node process did not start')), 15_000).unref();
    });
    const { port } = JSON.parse(line) as { port: number };
    const watcher = await wsClient(b);
    await watcher.request('sub', { topic: 'lobby', presence: true });
    const remote = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    clients.push(remote);
    const joined = watcher.next((m) => m.op === 'join' && m.topic === 'lobby');
    await remote.request('sub', { topic: 'lobby' });
    const { client } = await joined;
    expect((await watcher.request('presence', { topic: 'lobby' })).clients.map((c: any) => c.client)).toContain(client);
    const left = watcher.next((m) => m.op === 'leave' && m.client === client, 15_000);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await left;
    const removedAfter = Date.now() - killedAt;
    // heartbeat 200 ms, timeout 1000 ms: never before the timeout (its last heartbeat was at most one
    // interval before the kill). How soon after is a figure, logged (a loaded machine only delays it).
    expect(removedAfter).toBeGreaterThanOrEqual(1000 - 200);
    console.log(`[nats] killed node's client left presence after ${removedAfter} ms (timeout 1000 ms, heartbeat 200 ms)`);
    expect((await watcher.request('presence', { topic: 'lobby' })).clients.map((c: any) => c.client)).not.toContain(client);
  });
});

describe('nats cluster: interest', () => {
  it('a node without subscribers for a topic receives no NATS traffic for it', async () => {
    const prefix = uniquePrefix();
    // Long heartbeats: nothing else flows to the idle node during the measurement.
    const a = await node(prefix, { heartbeatMs: 60_000 });
    const idle = await node(prefix, { heartbeatMs: 60_000 });
    const busy = await node(prefix, { heartbeatMs: 60_000 });
    const busyClient = await wsClient(busy);
    await busyClient.request('sub', { topic: 'metrics.cpu' });
    const connOf = async (n: Node) => {
      const connz = await nats.server.monitor<{ connections: any[] }>('/connz?subs=1');
      const c = connz.connections.find((x) => x.name === `herald:${n.broker.nodeId}`);
      expect(c, `connection of ${n.broker.nodeId}`).toBeDefined();
      return c as { out_msgs: number; subscriptions_list?: string[] };
    };
    const liveSubs = (c: { subscriptions_list?: string[] }) => (c.subscriptions_list ?? []).filter((s) => s.startsWith(`${prefix}.t.`));
    expect(liveSubs(await connOf(idle))).toEqual([]);
    expect(liveSubs(await connOf(busy))).toEqual([`${prefix}.t.metrics.cpu`]);
    const idleBefore = (await connOf(idle)).out_msgs;
    const busyBefore = (await connOf(busy)).out_msgs;
    const publisher = await wsClient(a);
    for (let i = 0; i < 50; i++) await publisher.request('pub', { topic: 'metrics.cpu', data: i });
    await busyClient.waitForMessages(50, 'metrics.cpu');
    expect((await connOf(idle)).out_msgs - idleBefore).toBe(0);
    expect((await connOf(busy)).out_msgs - busyBefore).toBeGreaterThanOrEqual(50);
    expect(idle.adapter.stats().received).toBe(0);
    // Interest is withdrawn with the last local subscriber.
    await busyClient.request('unsub', { topic: 'metrics.cpu' });
    await until(async () => liveSubs(await connOf(busy)).length === 0, 'subscription withdrawn', 3000);
  });
});

describe('nats cluster: NATS outage', () => {
  it('publications made while NATS is down wait and then reach every node once, in order; no subscriber is closed or told anything', async () => {
    const prefix = uniquePrefix();
    const a = await node(prefix, { storage: 'file' });
    const b = await node(prefix, { storage: 'file' });
    const localSub = await wsClient(a);
    const remoteSub = await wsClient(b);
    const quiet = await wsClient(b);
    const publisher = await wsClient(a);
    await localSub.request('sub', { topic: 'alerts.x' });
    await remoteSub.request('sub', { topic: 'alerts.x' });
    await quiet.request('sub', { topic: 'alerts.quiet' });
    await publisher.request('pub', { topic: 'alerts.x', data: 'before' });
    await remoteSub.waitForMessages(1, 'alerts.x');

    await nats.server.kill();
    await until(() => !a.adapter.stats().connected && !b.adapter.stats().connected, 'both adapters notice the outage', 5000);
    const downAt = Date.now();
    // Pipelined: each waits in A's outbox until NATS is back, and is acknowledged only then.
    const replies = [...Array(10).keys()].map((i) => publisher.request('pub', { topic: 'alerts.x', data: `down-${i}` }, 20_000));
    let answered = 0;
    for (const r of replies) void r.then(() => answered++);
    // A subscriber joining during the outage: history is away, so it cannot recover (and says so).
    const lateLocal = await wsClient(a);
    const lateReply = await lateLocal.request('sub', { topic: 'alerts.x', since: { offset: 1, epoch: 'x' } }, 3000);
    expect(lateReply).toMatchObject({ ok: true, recovered: false });
    while (Date.now() - downAt < 1500) await sleep(50);
    expect(answered).toBe(0);

    const restartAt = Date.now();
    await nats.server.restart();
    const acks = await Promise.all(replies);
    console.log(`[nats] outage ${restartAt - downAt} ms; 10 publications waited in the outbox and were stored ${Date.now() - restartAt} ms after the server came back`);
    for (const ack of acks) expect(ack).toMatchObject({ ok: true, offset: expect.any(Number) });
    for (let i = 1; i < acks.length; i++) expect(acks[i]!.offset).toBeGreaterThan(acks[i - 1]!.offset);
    const expected = ['before', ...[...Array(10).keys()].map((i) => `down-${i}`)];
    expect((await remoteSub.waitForMessages(11, 'alerts.x', 10_000)).map((m) => m.data)).toEqual(expected);
    expect((await localSub.waitForMessages(11, 'alerts.x', 10_000)).map((m) => m.data)).toEqual(expected);
    expect((await lateLocal.waitForMessages(10, 'alerts.x')).map((m) => m.data)).toEqual(expected.slice(1));
    await until(() => b.adapter.stats().connected && b.adapter.stats().repairs >= 1, 'B repaired its gap', 10_000);
    const after = await publisher.request('pub', { topic: 'alerts.x', data: 'after' });
    expect(after.offset).toBeGreaterThan(acks.at(-1)!.offset);
    expect((await remoteSub.waitForMessages(12, 'alerts.x', 8000)).at(-1)!.data).toBe('after');
    await sleep(100);
    // Exactly once: nothing repaired twice, nothing re-sent delivered twice.
    expect(remoteSub.messages('alerts.x')).toHaveLength(12);
    for (const c of [localSub, remoteSub, quiet, publisher, lateLocal]) expect(c.closeCode).toBeUndefined();
    expect([...localSub.received, ...remoteSub.received, ...quiet.received].filter((m) => m.op === 'unsub')).toEqual([]);
    expect(a.broker.stats().gapUnsubscribes + b.broker.stats().gapUnsubscribes).toBe(0);
  });
});
