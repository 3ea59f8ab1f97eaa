/**
 * Failover on a real 3-node NATS cluster (routes, JetStream, history stream with 3 replicas): three
 * brokers on three different members; the member that leads the history stream, and carries broker
 * B, is killed with -9 in the middle of a steady publish stream. Every broker must reconnect with its
 * subscriptions, publications must keep their positions through the stream leader election, and B
 * repairs what its subscribers missed from JetStream: they see everything once, in order, unclosed.
 */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsAdapter, type NatsAdapter } from '../../adapters/nats/index.js';
import { sleep, startBroker, type Running } from '../helpers/broker.js';
import { startNatsCluster, type NatsCluster, type NatsServer } from '../helpers/nats-server.js';
import type { Message, TestClient } from '../helpers/ws-client.js';
import { until } from '../helpers/until.js';

let cluster: NatsCluster;
beforeAll(async () => { cluster = await startNatsCluster(3); });
afterAll(async () => { await cluster?.stop(); });

const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
});

const prefix = `fo${process.pid}`;
const stream = `${prefix}_history`;
const TOPIC = 'ticks.eur-usd';

interface Node extends Running { adapter: NatsAdapter; home: NatsServer }

/** A broker whose NATS connection prefers `home` (the others are fallbacks, tried in order). */
async function node(home: NatsServer): Promise<Node> {
  const others = cluster.servers.filter((s) => s !== home).map((s) => s.url);
  const adapter = natsAdapter({
    servers: [home.url, ...others], prefix, storage: 'file', replicas: 3,
    publishTimeoutMs: 10_000, requestTimeoutMs: 2000, reconnectTimeWaitMs: 200, heartbeatMs: 500,
    connection: { noRandomize: true },
  });
  const running = await startBroker({ adapter, history: { size: 2000, ttl: 600_000, topics: ['>'], maxTopics: 100 } });
  return { ...running, adapter, home };
}

async function client(n: Running): Promise<TestClient> {
  const c = await n.client();
  clients.push(c);
  return c;
}

/** Name of the member leading the history stream (created by the first broker). */
async function streamLeader(): Promise<string> {
  const nc = await connect({ servers: cluster.urls });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    return info.cluster!.leader!;
  } finally {
    await nc.close();
  }
}

const dataOf = (ms: Message[]) => ms.map((m) => m.data as number);

describe('nats failover: kill -9 a cluster member during a steady publish stream', () => {
  it('every broker reconnects with its subscriptions; clients recover what they missed, in order, no duplicates', async () => {
    const first = await node(cluster.servers[0]!);
    const leaderName = await streamLeader();
    const leader = cluster.servers.find((s) => s.name === leaderName)!;
    const rest = cluster.servers.filter((s) => s !== leader);
    // B sits on the stream leader, so killing it takes away both B's connection and the stream leader.
    const a = first.home === leader ? await node(rest[0]!) : first;
    const b = await node(leader);
    const c = await node(a.home === rest[0] ? rest[1]! : rest[0]!);
    expect(new Set([a.home, b.home, c.home]).size).toBe(3);

    const onB = await client(b);
    const onC = await client(c);
    const publisher = await client(a);
    await onB.request('sub', { topic: TOPIC });
    await onC.request('sub', { topic: TOPIC });

    const TOTAL = 300;
    const KILL_AT = 100;
    const acks: { i: number; offset: number | undefined; epoch: string | undefined }[] = [];
    let killedAt = 0;
    let firstAfterKillMs = 0;
    for (let i = 0; i < TOTAL; i++) {
      if (i === KILL_AT) {
        await onB.waitForMessages(KILL_AT, TOPIC);
        killedAt = Date.now();
        await b.home.kill();
      }
      const sentAt = Date.now();
      const reply = await publisher.request('pub', { topic: TOPIC, data: i }, 15_000);
      expect(reply.ok).toBe(true);
      if (i === KILL_AT) firstAfterKillMs = Date.now() - sentAt;
      acks.push({ i, offset: reply.offset, epoch: reply.epoch });
      await sleep(5);
    }
    const publishedIn = Date.now() - killedAt;

    // B reconnected (to another member) and repaired what its subscriber missed from JetStream:
    // the subscriber is not closed and is not told anything.
    await until(() => b.adapter.stats().connected && b.adapter.stats().reconnects >= 1, 'B reconnects', 10_000);
    const lastStore = acks.at(-1)!;
    const tail = await publisher.request('pub', { topic: TOPIC, data: TOTAL });
    expect(tail.offset).toBeGreaterThan(lastStore.offset!);
    await onB.waitForMessages(TOTAL + 1, TOPIC, 15_000);
    expect(onB.closeCode).toBeUndefined();
    expect(onB.received.filter((m) => m.op === 'unsub')).toEqual([]);

    // Every publication got a position: JetStream stored it through the leader election.
    const stored = acks.filter((x) => x.offset !== undefined);
    expect(stored).toHaveLength(TOTAL);
    expect(new Set(acks.map((x) => x.epoch)).size).toBe(1);
    for (let k = 1; k < stored.length; k++) expect(stored[k]!.offset!).toBeGreaterThan(stored[k - 1]!.offset!);

    // C's member stayed up: C saw everything live, once, in order.
    await onC.waitForMessages(TOTAL + 1, TOPIC, 10_000);
    expect(dataOf(onC.messages(TOPIC))).toEqual([...Array(TOTAL + 1).keys()]);

    // B's subscriber saw everything once, in order, live or repaired.
    expect(dataOf(onB.messages(TOPIC))).toEqual([...Array(TOTAL + 1).keys()]);
    expect(onB.messages(TOPIC).map((m) => m.offset)).toEqual([...stored.map((x) => x.offset), tail.offset]);

    // A client that recovers from an old position, on B and on A alike, gets the rest in order.
    const from = onB.messages(TOPIC)[KILL_AT - 1]!;
    const since = { offset: from.offset, epoch: from.epoch };
    const expected = [...Array(TOTAL + 1).keys()].slice(KILL_AT);
    for (const n of [b, a]) {
      const back = await client(n);
      const reply = await back.request('sub', { topic: TOPIC, since }, 10_000);
      expect(reply.recovered).toBe(true);
      expect(dataOf(back.messages(TOPIC))).toEqual(expected);
    }
    console.log(`[nats failover] killed ${leaderName} (stream leader, B's member); B reconnected ` +
      `(${b.adapter.stats().reconnects} reconnect); first publish after the kill waited ${firstAfterKillMs} ms for the new stream leader; ${TOTAL - KILL_AT} publications after the kill took ${publishedIn} ms; ` +
      `B's subscriber got all ${TOTAL + 1} once, in order (${b.adapter.stats().repairedPublications} of them repaired from JetStream, ${b.adapter.stats().duplicates} duplicate copies dropped), never closed; ` +
      `unstored ${a.adapter.stats().unstoredPublications}, lost ${a.adapter.stats().lostPublications}`);
  });
});

/** True once the stream has a leader and every replica is current (safe to take the next member down). */
async function streamHealthy(name: string): Promise<boolean> {
  const nc = await connect({ servers: cluster.urls, timeout: 2000 }).catch(() => undefined);
  if (nc === undefined) return false;
  try {
    const info = await (await jetstreamManager(nc, { timeout: 2000 })).streams.info(name);
    const replicas = info.cluster?.replicas ?? [];
    return info.cluster?.leader !== undefined && replicas.length === 2 && replicas.every((r) => r.current && !r.offline);
  } catch {
    return false;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

describe('nats rolling restart: 3 servers, JetStream R3, restarted one at a time under load', () => {
  it('costs 0 client disconnects and 0 lost publications', { timeout: 150_000 }, async () => {
    // The failover test above leaves a member down: bring the cluster back whole first.
    for (const s of cluster.servers) if (!s.alive) await s.restart();
    const rollPrefix = `roll${process.pid}`;
    const rollStream = `${rollPrefix}_history`;
    const rollNode = async (home: NatsServer): Promise<Node> => {
      const others = cluster.servers.filter((s) => s !== home).map((s) => s.url);
      const adapter = natsAdapter({
        servers: [home.url, ...others], prefix: rollPrefix, storage: 'file', replicas: 3,
        publishTimeoutMs: 15_000, requestTimeoutMs: 2000, reconnectTimeWaitMs: 200, heartbeatMs: 500, connection: { noRandomize: true },
      });
      const running = await startBroker({ adapter, history: { size: 5000, ttl: 600_000, topics: ['>'], maxTopics: 100 } });
      return { ...running, adapter, home };
    };
    const nodes = [];
    for (const home of cluster.servers) nodes.push(await rollNode(home));
    const subscribers: TestClient[] = [];
    const quiet: TestClient[] = [];
    for (const n of nodes) {
      const s = await client(n);
      await s.request('sub', { topic: TOPIC });
      subscribers.push(s);
      for (let i = 0; i < 20; i++) {
        const q = await client(n);
        await q.request('sub', { topic: `quiet.${n.home.name}.${i}` });
        quiet.push(q);
      }
    }
    const publisher = await client(nodes[0]!);
    const acked = new Map<number, number>();
    const failed: unknown[] = [];
    const pending: Promise<void>[] = [];
    let sent = 0;
    let stop = false;
    const publishing = (async () => {
      const began = Date.now();
      while (!stop) {
        const n = sent++;
        pending.push(publisher.request('pub', { topic: TOPIC, data: n }, 60_000).then(
          (reply) => { if (reply.ok) acked.set(n, reply.offset); else failed.push(reply.error); },
          (err: unknown) => { failed.push(String(err)); },
        ));
        await sleep(Math.max(0, began + (sent * 1000) / 50 - Date.now()));
      }
    })();
    await until(() => acked.size >= 25, 'publishing before the first restart', 10_000);
    const restarts: string[] = [];
    for (const server of cluster.servers) {
      await until(() => streamHealthy(rollStream), 'stream replicas current before the next restart', 30_000);
      const at = Date.now();
      await server.restart({ graceful: true });
      restarts.push(`${server.name} ${Date.now() - at} ms`);
    }
    await until(() => streamHealthy(rollStream), 'stream replicas current after the last restart', 30_000);
    const lastAcked = acked.size;
    await until(() => acked.size >= lastAcked + 25, 'publishing after the last restart', 20_000);
    stop = true;
    await publishing;
    await Promise.all(pending);

    const expected = [...acked.entries()].sort((x, y) => x[1] - y[1]);
    for (const s of subscribers) await s.waitForMessages(expected.length, TOPIC, 20_000);
    await sleep(200);
    for (const s of subscribers) expect(s.messages(TOPIC).map((m) => [m.data, m.offset])).toEqual(expected);
    const closes = [...subscribers, ...quiet, publisher].filter((c) => c.closeCode !== undefined).length;
    const unsubs = [...subscribers, ...quiet].reduce((n, c) => n + c.received.filter((m) => m.op === 'unsub').length, 0);
    console.log(`[nats rolling restart] restarted ${restarts.join(', ')}; published ${sent}, acknowledged ${acked.size}, refused ${failed.length}; ` +
      `each of ${subscribers.length} subscribers got ${expected.length} once, in order; closes ${closes}, unsub pushes ${unsubs}; ` +
      `reconnects ${nodes.map((n) => n.adapter.stats().reconnects).join('/')}, repaired ${nodes.map((n) => n.adapter.stats().repairedPublications).join('/')}`);
    expect(failed).toEqual([]);
    expect(acked.size).toBe(sent);
    expect(closes).toBe(0);
    expect(unsubs).toBe(0);
  });
});
