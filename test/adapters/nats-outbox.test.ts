/**
 * The NATS adapter's publish outbox against a real nats-server that is killed and restarted: while
 * NATS is unreachable a publication waits (its publisher too) and is stored once NATS is back, with
 * its message id; past the outbox's byte or age bound it is refused with `unavailable` and no node
 * ever delivers it. Also JetStream unavailable while core NATS is up: refused, not sent live.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { natsAdapter, type NatsAdapter, type NatsAdapterOptions } from '../../adapters/nats/index.js';
import { HeraldError } from '../../core/errors.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { recordingNode, type RecordingNode } from './conformance.js';
import { until } from '../helpers/until.js';

const started: NatsAdapter[] = [];
const servers: { stop(): Promise<void> }[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  await Promise.allSettled(started.splice(0).map((a) => a.close()));
  await Promise.allSettled(proxies.splice(0).map((p) => p.close()));
  await Promise.allSettled(servers.splice(0).map((s) => s.stop()));
});

let seq = 0;
async function pair(extra: NatsAdapterOptions = {}) {
  const nats = await startNatsServer();
  servers.push(nats);
  const prefix = `ob${process.pid}x${++seq}`;
  const make = async (): Promise<{ a: NatsAdapter; node: RecordingNode }> => {
    const a = natsAdapter({ servers: nats.url, prefix, storage: 'file', heartbeatMs: 200, reconnectTimeWaitMs: 100, ...extra });
    const node = recordingNode();
    await a.start(node);
    started.push(a);
    return { a, node };
  };
  return { nats, prefix, publisher: await make(), receiver: await make() };
}

const isUnavailable = (e: unknown) => e instanceof HeraldError && e.code === 'unavailable';

describe('nats adapter: publish outbox while NATS is unreachable', () => {
  it('waits, then stores once with a position; over the byte bound refuses with unavailable, and nobody delivers it', async () => {
    const { nats, publisher, receiver } = await pair({ outboxBytes: 200, outboxAgeMs: 60_000 });
    await receiver.a.subscribe('x.y');
    await nats.server.kill();
    await until(() => !publisher.a.stats().connected && !receiver.a.stats().connected, 'both notice the outage', 5000);
    const waiting = [publisher.a.publish('x.y', 'w1'), publisher.a.publish('x.y', 'w2')];
    let settled = 0;
    for (const w of waiting) void w.then(() => settled++, () => settled++);
    await expect(publisher.a.publish('x.y', 'x'.repeat(300))).rejects.toSatisfy(isUnavailable);
    expect(publisher.a.stats()).toMatchObject({ outbox: 2, refusedPublications: 1 });
    expect(settled).toBe(0); // not acknowledged while NATS is away
    await nats.server.restart();
    const [p1, p2] = await Promise.all(waiting);
    expect(p2!.offset).toBeGreaterThan(p1!.offset);
    await until(() => receiver.node.delivered.length >= 2, 'receiver gets both', 10_000);
    const history = await receiver.a.history('x.y', {});
    expect(history.publications.map((p) => p.data)).toEqual(['w1', 'w2']);
    await publisher.a.publish('x.y', 'after');
    await until(() => receiver.node.delivered.length >= 3, 'live after', 5000);
    expect(receiver.node.delivered.map((p) => p.data)).toEqual(['w1', 'w2', 'after']);
    expect(receiver.node.gaps).toEqual([]);
  });

  it('refuses with unavailable what waited longer than outboxAgeMs; it never reaches the stream or another node', async () => {
    const { nats, publisher, receiver } = await pair({ outboxAgeMs: 300 });
    await receiver.a.subscribe('x.y');
    await nats.server.kill();
    await until(() => !publisher.a.stats().connected, 'outage noticed', 5000);
    const began = Date.now();
    await expect(publisher.a.publish('x.y', 'too-old')).rejects.toSatisfy(isUnavailable);
    expect(Date.now() - began).toBeGreaterThanOrEqual(250);
    await nats.server.restart();
    await until(() => publisher.a.stats().connected && receiver.a.stats().connected, 'reconnected', 10_000);
    const next = await publisher.a.publish('x.y', 'next');
    await until(() => receiver.node.delivered.length >= 1, 'next delivered', 5000);
    expect(receiver.node.delivered.map((p) => p.data)).toEqual(['next']);
    expect((await receiver.a.history('x.y', {})).publications.map((p) => [p.data, p.offset])).toEqual([['next', next!.offset]]);
  });
});

describe('nats adapter: publish order across a reconnect', () => {
  /**
   * p1's store request reaches JetStream but its acknowledgement never comes back, then the link
   * breaks; p2 is published during the outage or once the link is back (p1's request has not timed
   * out yet: requestTimeoutMs 3 s). p1 was stored first, so it must be acknowledged first and reach
   * the other node first, whose own link stayed up.
   */
  async function storedThenCut(p2When: 'during the outage' | 'after the reconnect'): Promise<void> {
    const nats = await startNatsServer();
    servers.push(nats);
    const proxy = await startTcpProxy(nats.server.port);
    proxies.push(proxy);
    const prefix = `order${process.pid}x${++seq}`;
    const make = async (url: string): Promise<{ a: NatsAdapter; node: RecordingNode }> => {
      const a = natsAdapter({ servers: url, prefix, storage: 'memory', heartbeatMs: 200, reconnectTimeWaitMs: 100, requestTimeoutMs: 3000 });
      const node = recordingNode();
      await a.start(node);
      started.push(a);
      return { a, node };
    };
    const publisher = await make(`nats://127.0.0.1:${proxy.port}`);
    const receiver = await make(nats.url);
    await receiver.a.subscribe('o.x');
    await publisher.a.publish('o.x', 'p0');
    const acknowledged: string[] = [];
    proxy.deafen(true);
    const p1 = publisher.a.publish('o.x', 'p1').then((position) => { acknowledged.push('p1'); return position; });
    for (const deadline = Date.now() + 5000; ;) {
      if ((await receiver.a.history('o.x', {})).publications.some((p) => p.data === 'p1')) break;
      if (Date.now() > deadline) throw new Error('timed out: p1 stored');
      await new Promise((r) => setTimeout(r, 20));
    }
    proxy.refuse(60_000);
    proxy.drop();
    proxy.deafen(false);
    await until(() => !publisher.a.stats().connected, 'the publisher notices the cut', 5000);
    const publishP2 = () => publisher.a.publish('o.x', 'p2').then((position) => { acknowledged.push('p2'); return position; });
    let p2: ReturnType<typeof publishP2> | undefined;
    if (p2When === 'during the outage') p2 = publishP2();
    proxy.refuse(0);
    if (p2When === 'after the reconnect') {
      await until(() => publisher.a.stats().connected, 'the publisher is back', 5000);
      expect(acknowledged).toEqual([]); // p1's request is still waiting for its lost answer
      p2 = publishP2();
    }
    const [r1, r2] = await Promise.all([p1, p2!]);
    // In publish order, which is stream order: p1 was stored first (its retry is a duplicate).
    expect(acknowledged).toEqual(['p1', 'p2']);
    expect(r1!.offset).toBeLessThan(r2!.offset);
    await until(() => receiver.node.delivered.length >= 3, 'the receiver gets all three', 10_000);
    expect(receiver.node.delivered.map((p) => [p.data, p.offset])).toEqual([['p0', r1!.offset - 1], ['p1', r1!.offset], ['p2', r2!.offset]]);
    expect(receiver.node.gaps).toEqual([]);
    expect((await receiver.a.history('o.x', {})).publications.map((p) => p.data)).toEqual(['p0', 'p1', 'p2']);
  }

  it('a publication stored while its ack was lost to a broken link goes before the ones made during the outage, on the publisher and on a node whose link stayed up', async () => {
    await storedThenCut('during the outage');
  });

  it('a publication stored while its ack was lost to a broken link goes before the ones made once the link is back, while its request still waits for the lost answer', async () => {
    await storedThenCut('after the reconnect');
  });
});

describe('nats adapter: JetStream unavailable while core NATS is up', () => {
  it('refuses a publication of a history topic with unavailable (not sent live); topics without history still cross; recovers when the stream is back', async () => {
    const nats = await startNatsServer();
    servers.push(nats);
    const prefix = `js${process.pid}x${++seq}`;
    const make = async () => {
      const a = natsAdapter({ servers: nats.url, prefix, storage: 'memory', heartbeatMs: 200, publishTimeoutMs: 800, requestTimeoutMs: 300 });
      const node = recordingNode({ topics: ['kept.>'] });
      await a.start(node);
      started.push(a);
      return { a, node };
    };
    const publisher = await make();
    const receiver = await make();
    await receiver.a.subscribe('kept.x');
    await receiver.a.subscribe('live.x');
    // The stream stops capturing Herald's subjects: every store request finds no responder.
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const stream = `${prefix}_history`;
      const config = (await jsm.streams.info(stream)).config;
      await jsm.streams.update(stream, { ...config, subjects: [`${prefix}.elsewhere.>`] });
      await expect(publisher.a.publish('kept.x', 'refused')).rejects.toSatisfy(isUnavailable);
      expect(publisher.a.stats().unstoredPublications).toBe(1);
      expect(await publisher.a.publish('live.x', 'crosses')).toBeUndefined();
      await until(() => receiver.node.delivered.length >= 1, 'live topic delivered', 5000);
      await jsm.streams.update(stream, { ...config, subjects: [`${prefix}.h.>`] });
      const back = await publisher.a.publish('kept.x', 'stored');
      expect(back!.offset).toBeGreaterThan(0);
      await until(() => receiver.node.delivered.length >= 2, 'stored one delivered', 5000);
      expect(receiver.node.delivered.map((p) => p.data)).toEqual(['crosses', 'stored']);
    } finally {
      await nc.close();
    }
  });
});
