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

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
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
    await until(() => b.adapter.stats().connected && b.adapter.stats().reconnects >= 1, 10_000, 'B reconnects');
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
