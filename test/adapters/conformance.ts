/**
 * The cluster adapter conformance suite (docs/architecture.md): every adapter passes it. It drives adapters
 * directly, each standing for one node with a recording AdapterNode, so a failure names the adapter
 * behaviour rather than a transport. Call it from a test file with a cluster factory.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { HistoryPolicy } from '../../core/cluster/history-policy.js';
import type { ControlCommand } from '../../core/contracts.js';
import type { AdapterNode, ClusterAdapter } from '../../core/contracts.js';
import { HeraldError } from '../../core/errors.js';
import type { ResolvedOptions } from '../../core/options.js';
import type { PresenceEntry } from '../../core/protocol.js';
import type { Publication } from '../../core/publication.js';
import { until } from '../helpers/until.js';

export interface AdapterCluster {
  /** A new adapter joined to this cluster: one more node. */
  node(): ClusterAdapter | Promise<ClusterAdapter>;
  /** Stops whatever the cluster started (servers...). */
  close?(): Promise<void>;
  /**
   * How to break a node's link to the cluster, for adapters that have one (the memory adapter is
   * one process: nothing between its nodes can fail, so it offers none and runs no fault case).
   */
  faults?: AdapterFaults;
}

export interface AdapterFaults {
  /** Cuts the node's link as a network failure would (sockets die, new ones are refused); resolves once the node noticed. */
  cut(adapter: ClusterAdapter): Promise<void>;
  /** Restores the link; resolves once the node is connected again. */
  heal(adapter: ClusterAdapter): Promise<void>;
}

export interface ConformanceOptions {
  /** Longest time a publication or presence change may take to reach another node (default 2000 ms). */
  propagationMs?: number;
  /**
   * The adapter's documented time after which a silent node is dropped from presence. A closed
   * node's goodbye must then arrive well before it (so a missing goodbye fails the test).
   */
  nodeTimeoutMs?: number;
  /** The cluster offers `faults`: run the fault cases (link cut and healed, vanished node). */
  faults?: boolean;
}

type History = ResolvedOptions['history'];
const defaultHistory: History = { size: 100, ttl: 60_000, topics: ['>'], maxTopics: 1000, maxBytes: 64 * 1024 * 1024 };

export interface RecordingNode extends AdapterNode {
  readonly delivered: Publication[];
  /** Patterns the adapter reported as possibly missed. */
  readonly gaps: string[][];
  readonly events: { kind: 'join' | 'leave'; topic: string; entry: PresenceEntry }[];
  /** Control commands this node ran (AdapterNode.control); it answers that it reached one connection. */
  readonly commands: ControlCommand[];
}

let counter = 0;
export function recordingNode(history: Partial<History> = {}): RecordingNode {
  const delivered: Publication[] = [];
  const events: RecordingNode['events'] = [];
  const gaps: string[][] = [];
  const commands: ControlCommand[] = [];
  const id = `node${++counter}x${process.pid}`;
  const settings = { ...defaultHistory, ...history };
  const policy = new HistoryPolicy(settings);
  return {
    id,
    maxIdempotencyKeys: 1000,
    commands,
    control: async (command) => { commands.push(command); return { node: id, connections: 1 }; },
    logger: pino({ level: 'silent' }),
    history: settings,
    keepsHistory: (topic) => policy.keeps(topic),
    historyCovers: (pattern) => policy.covers(pattern),
    delivered,
    events,
    deliver: (pub) => delivered.push(pub),
    presenceEvent: (kind, topic, entry) => events.push({ kind, topic, entry }),
    gaps,
    missed: (patterns) => gaps.push([...patterns]),
  };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
let topicSeq = 0;
/** A topic unique to this run, so adapters with persistent stores do not see old data. */
const fresh = (prefix: string) => `${prefix}.t${Date.now().toString(36)}${++topicSeq}`;

export function adapterConformance(name: string, makeCluster: () => Promise<AdapterCluster>, options: ConformanceOptions = {}): void {
  const wait = options.propagationMs ?? 2000;
  // A goodbye must beat the node timeout by far, or a missing one would pass by timing out.
  const goodbyeWait = options.nodeTimeoutMs === undefined ? wait : Math.min(wait, options.nodeTimeoutMs / 3);

  describe(`cluster adapter conformance: ${name}`, () => {
    const started: ClusterAdapter[] = [];
    const clusters: AdapterCluster[] = [];

    afterEach(async () => {
      await Promise.allSettled(started.splice(0).map((a) => a.close()));
      await Promise.allSettled(clusters.splice(0).map((c) => c.close?.()));
    });

    async function nodes(count: number, history: Partial<History> = {}): Promise<{ adapter: ClusterAdapter; node: RecordingNode }[]> {
      return (await clusterOf(count, history)).members;
    }

    async function clusterOf(count: number, history: Partial<History> = {}) {
      const cluster = await makeCluster();
      clusters.push(cluster);
      const members = [];
      for (let i = 0; i < count; i++) {
        const adapter = await cluster.node();
        const node = recordingNode(history);
        await adapter.start(node);
        started.push(adapter);
        members.push({ adapter, node });
      }
      return { cluster, members };
    }

    it('delivers a publication to every other interested node, never back to the publisher', async () => {
      const [a, b, c] = await nodes(3);
      const topic = fresh('conf');
      await a!.adapter.subscribe(topic);
      await b!.adapter.subscribe(topic);
      await c!.adapter.subscribe(topic);
      await a!.adapter.publish(topic, { n: 1 });
      await until(() => b!.node.delivered.length === 1 && c!.node.delivered.length === 1, 'delivery to b and c', wait);
      await pause(100);
      expect(a!.node.delivered).toHaveLength(0);
      expect(b!.node.delivered[0]!.data).toEqual({ n: 1 });
      expect(b!.node.delivered[0]!.topic).toBe(topic);
    });

    it('sends nothing to a node without interest, and stops after unsubscribe', async () => {
      const [a, b, c] = await nodes(3);
      const topic = fresh('interest');
      await b!.adapter.subscribe(topic);
      await a!.adapter.publish(topic, 1);
      await until(() => b!.node.delivered.length === 1, 'delivery to b', wait);
      await b!.adapter.unsubscribe(topic);
      await a!.adapter.publish(topic, 2);
      await pause(200);
      expect(b!.node.delivered.map((p) => p.data)).toEqual([1]);
      expect(c!.node.delivered).toHaveLength(0);
    });

    it('matches wildcard interest and delivers once when several patterns of a node match', async () => {
      const [a, b] = await nodes(2);
      const base = fresh('wild');
      await b!.adapter.subscribe(`${base}.*`);
      await b!.adapter.subscribe(`${base}.>`);
      await b!.adapter.subscribe(`${base}.x`);
      await a!.adapter.publish(`${base}.x`, 'x');
      await a!.adapter.publish(`${base}.y.z`, 'yz');
      await a!.adapter.publish(`${base}`, 'not matched');
      await until(() => b!.node.delivered.length >= 2, 'wildcard deliveries', wait);
      await pause(200);
      expect(b!.node.delivered.map((p) => p.data)).toEqual(['x', 'yz']);
    });

    it('keeps the publish order of one node on another node', async () => {
      const [a, b] = await nodes(2);
      const topic = fresh('order');
      await b!.adapter.subscribe(topic);
      for (let i = 0; i < 200; i++) await a!.adapter.publish(topic, i);
      await until(() => b!.node.delivered.length === 200, '200 deliveries', wait * 2);
      expect(b!.node.delivered.map((p) => p.data)).toEqual([...Array(200).keys()]);
    });

    it('misses nothing published after subscribe() resolves', async () => {
      const [a, b] = await nodes(2);
      const topic = fresh('ready');
      await b!.adapter.subscribe(topic);
      await a!.adapter.publish(topic, 'first');
      await until(() => b!.node.delivered.length === 1, 'first delivery', wait);
    });

    it('assigns increasing positions within an epoch, seen alike from every node', async () => {
      const [a, b] = await nodes(2);
      const topic = fresh('pos');
      const p1 = await a!.adapter.publish(topic, 1);
      const p2 = await b!.adapter.publish(topic, 2);
      const p3 = await a!.adapter.publish(topic, 3);
      expect(p1 && p2 && p3).toBeTruthy();
      expect(p2!.offset).toBeGreaterThan(p1!.offset);
      expect(p3!.offset).toBeGreaterThan(p2!.offset);
      expect(new Set([p1!.epoch, p2!.epoch, p3!.epoch]).size).toBe(1);
      const fromB = await b!.adapter.history(topic, {});
      expect(fromB.position).toEqual(p3);
      expect(fromB.publications.map((p) => [p.data, p.offset])).toEqual([[1, p1!.offset], [2, p2!.offset], [3, p3!.offset]]);
    });

    it('recovers from a position: everything after it, in order, recovered:true', async () => {
      const [a, b] = await nodes(2);
      const topic = fresh('recover');
      const positions = [];
      for (let i = 0; i < 10; i++) positions.push(await a!.adapter.publish(topic, i));
      const since = positions[3]!;
      const result = await b!.adapter.history(topic, { since });
      expect(result.recovered).toBe(true);
      expect(result.publications.map((p) => p.data)).toEqual([4, 5, 6, 7, 8, 9]);
      const upToDate = await b!.adapter.history(topic, { since: positions[9]! });
      expect(upToDate).toMatchObject({ recovered: true, publications: [] });
    });

    it('says recovered:false for another epoch or a position older than the window', async () => {
      const [a] = await nodes(1, { size: 5 });
      const topic = fresh('window');
      const positions = [];
      for (let i = 0; i < 12; i++) positions.push(await a!.adapter.publish(topic, i));
      const old = await a!.adapter.history(topic, { since: positions[0]! });
      expect(old.recovered).toBe(false);
      const otherEpoch = await a!.adapter.history(topic, { since: { offset: positions[10]!.offset, epoch: 'not-this-epoch' } });
      expect(otherEpoch.recovered).toBe(false);
      const recent = await a!.adapter.history(topic, {});
      expect(recent.publications.map((p) => p.data)).toEqual([7, 8, 9, 10, 11]);
      const limited = await a!.adapter.history(topic, { limit: 2 });
      expect(limited.publications.map((p) => p.data)).toEqual([10, 11]);
    });

    it('keeps no history for topics outside history.topics', async () => {
      const [a] = await nodes(1, { topics: ['kept.>'] });
      const topic = fresh('unkept');
      expect(await a!.adapter.publish(topic, 1)).toBeUndefined();
      await expect(a!.adapter.history(topic, {})).rejects.toSatisfy((e: unknown) => e instanceof HeraldError && e.code === 'unsupported');
    });

    it('publishOnce: the same key on two nodes is delivered once, and both get the first position', async () => {
      const [a, b, c] = await nodes(3);
      const topic = fresh('once');
      await c!.adapter.subscribe(topic);
      await b!.adapter.subscribe(topic);
      const key = fresh('key');
      const first = await a!.adapter.publishOnce(topic, { n: 1 }, key, 60_000);
      const again = await b!.adapter.publishOnce(topic, { n: 1 }, key, 60_000);
      expect(first.duplicate).toBe(false);
      expect(again.duplicate).toBe(true);
      expect(first.position).toBeDefined();
      expect(again.position).toEqual(first.position);
      // Another key publishes again, and its delivery proves the repeat's would have arrived by now.
      const other = await b!.adapter.publishOnce(topic, { n: 2 }, `${key}-other`, 60_000);
      expect(other.duplicate).toBe(false);
      expect(other.position!.offset).toBeGreaterThan(first.position!.offset);
      await until(() => c!.node.delivered.length === 2, 'deliveries on c', wait);
      expect(c!.node.delivered.map((p) => p.data)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(b!.node.delivered.map((p) => p.data)).toEqual([{ n: 1 }]);
      expect((await a!.adapter.history(topic, {})).publications.map((p) => p.data)).toEqual([{ n: 1 }, { n: 2 }]);
    });

    it('publishOnce: concurrent repeats on several nodes publish once, on topics without history too', async () => {
      const [a, b, c] = await nodes(3, { topics: ['kept.>'] });
      const topic = fresh('unkept');
      await c!.adapter.subscribe(topic);
      const key = fresh('key');
      const results = await Promise.all([a!, b!, a!, b!].map((n) => n.adapter.publishOnce(topic, 'x', key, 60_000)));
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(results.every((r) => r.position === undefined)).toBe(true);
      // A later publication from a marks when every copy of the repeats would have reached c.
      await a!.adapter.publish(topic, 'after');
      await until(() => c!.node.delivered.some((p) => p.data === 'after'), 'the marker on c', wait);
      expect(c!.node.delivered.map((p) => p.data)).toEqual(['x', 'after']);
    });

    it('gatherControl runs a command once on every node, this one included, and returns every reply', async () => {
      const members = await nodes(3);
      const [a] = members;
      const command: ControlCommand = { op: 'disconnect', target: { user: 'u1' }, code: 4002, reason: 'test' };
      // Nodes learn of each other in the adapter's own time: ask until all three answer.
      const deadline = Date.now() + wait * 3;
      let replies = await a!.adapter.gatherControl({ op: 'info' });
      while (replies.length < 3 && Date.now() < deadline) { await pause(50); replies = await a!.adapter.gatherControl({ op: 'info' }); }
      expect(replies.map((r) => r.node).sort()).toEqual(members.map((m) => m.node.id).sort());
      const before = members.map((m) => m.node.commands.length);
      const got = await a!.adapter.gatherControl(command);
      expect(got.map((r) => r.node).sort()).toEqual(members.map((m) => m.node.id).sort());
      expect(got.every((r) => r.connections === 1)).toBe(true);
      members.forEach((m, i) => {
        expect(m.node.commands).toHaveLength(before[i]! + 1);
        expect(m.node.commands.at(-1)).toEqual(command);
      });
    });

    it('shares presence across nodes and reports joins and leaves to the others', async () => {
      const [a, b] = await nodes(2);
      const topic = fresh('presence');
      await a!.adapter.join(topic, { client: 'c1', user: 'u1' });
      await b!.adapter.join(topic, { client: 'c2', user: null, info: { name: 'bob' } });
      await until(() => b!.node.events.some((e) => e.kind === 'join' && e.entry.client === 'c1'), 'join seen by b', wait);
      await until(() => a!.node.events.some((e) => e.kind === 'join' && e.entry.client === 'c2'), 'join seen by a', wait);
      const fromA = await a!.adapter.presence(topic);
      expect(fromA.sort((x, y) => x.client.localeCompare(y.client))).toEqual([
        { client: 'c1', user: 'u1' },
        { client: 'c2', user: null, info: { name: 'bob' } },
      ]);
      await a!.adapter.leave(topic, 'c1');
      await until(() => b!.node.events.some((e) => e.kind === 'leave' && e.entry.client === 'c1'), 'leave seen by b', wait);
      const deadline = Date.now() + wait;
      let fromB = await b!.adapter.presence(topic);
      while (fromB.length !== 1 && Date.now() < deadline) { await pause(20); fromB = await b!.adapter.presence(topic); }
      expect(fromB.map((e) => e.client)).toEqual(['c2']);
      expect(a!.node.events.filter((e) => e.entry.client === 'c2' && e.kind === 'join')).toHaveLength(1);
    });

    it('removes a closed node\'s presence and tells the others', async () => {
      const [a, b] = await nodes(2);
      const topic = fresh('gone');
      await a!.adapter.join(topic, { client: 'ca', user: 'ua' });
      await until(() => b!.node.events.some((e) => e.kind === 'join'), 'join seen', wait);
      const closedAt = Date.now();
      await a!.adapter.close();
      await until(() => b!.node.events.some((e) => e.kind === 'leave' && e.entry.client === 'ca'), 'leave seen after close (the goodbye, not the node timeout)', goodbyeWait);
      expect(await b!.adapter.presence(topic)).toEqual([]);
      if (options.nodeTimeoutMs !== undefined) expect(Date.now() - closedAt).toBeLessThan(options.nodeTimeoutMs);
    });

    // Only adapters with a link that can fail (the memory adapter is one process: nothing to cut).
    if (options.faults) describe('faults', () => {
      async function faulty(count: number, history: Partial<History> = {}) {
        const { cluster, members } = await clusterOf(count, history);
        if (cluster.faults === undefined) throw new Error(`${name}: the conformance options say faults, the cluster offers none`);
        return { faults: cluster.faults, members };
      }

      it('repairs what a cut-off node missed on topics with history (in order, once, unannounced) and reports only patterns it cannot repair', async () => {
        const { faults, members: [a, b] } = await faulty(2, { topics: ['kept.>'] });
        const kept = fresh('kept.x');
        const quiet = fresh('kept.quiet');
        const free = fresh('free.x');
        for (const p of [kept, quiet, free]) await b!.adapter.subscribe(p);
        await a!.adapter.publish(kept, 0);
        await until(() => b!.node.delivered.length === 1, 'delivery before the cut', wait);
        await faults.cut(b!.adapter);
        for (let i = 1; i <= 5; i++) await a!.adapter.publish(kept, i);
        await a!.adapter.publish(free, 'lost');
        await faults.heal(b!.adapter);
        await until(() => b!.node.delivered.filter((p) => p.topic === kept).length === 6, 'the cut-off publications, repaired', wait * 2);
        await a!.adapter.publish(kept, 6);
        await until(() => b!.node.delivered.filter((p) => p.topic === kept).length === 7, 'live after the repair', wait);
        await pause(100);
        expect(b!.node.delivered.filter((p) => p.topic === kept).map((p) => p.data)).toEqual([0, 1, 2, 3, 4, 5, 6]);
        const offsets = b!.node.delivered.filter((p) => p.topic === kept).map((p) => p.offset!);
        expect([...offsets].sort((x, y) => x - y)).toEqual(offsets);
        const reported = b!.node.gaps.flat();
        expect(reported).toContain(free);
        expect(reported).not.toContain(kept);
        expect(reported).not.toContain(quiet);
      });

      it('acknowledges a publication of a cut-off node only once it reached the others (stored, with a position)', async () => {
        const { faults, members: [a, b] } = await faulty(2);
        const topic = fresh('outbox');
        await b!.adapter.subscribe(topic);
        await faults.cut(a!.adapter);
        let settled = false;
        const published = a!.adapter.publish(topic, 'waited');
        void published.then(() => { settled = true; }, () => { settled = true; });
        await pause(300);
        expect(settled).toBe(false);
        expect(b!.node.delivered).toHaveLength(0);
        await faults.heal(a!.adapter);
        const position = await published;
        expect(position?.offset).toBeGreaterThan(0);
        await until(() => b!.node.delivered.length === 1, 'delivery after the heal', wait);
        const recovered = await b!.adapter.history(topic, { since: { offset: 0, epoch: position!.epoch } });
        expect(recovered).toMatchObject({ recovered: true });
        expect(recovered.publications.map((p) => p.data)).toEqual(['waited']);
        await pause(100);
        expect(b!.node.delivered.map((p) => p.data)).toEqual(['waited']);
      });

      it('drops a vanished node from presence within its timeout, and lists its clients again once it is back', async () => {
        const { faults, members: [a, b] } = await faulty(2);
        const topic = fresh('vanish');
        await a!.adapter.join(topic, { client: 'cv', user: 'uv' });
        await until(() => b!.node.events.some((e) => e.kind === 'join' && e.entry.client === 'cv'), 'join seen', wait);
        const cutAt = Date.now();
        await faults.cut(a!.adapter);
        const timeoutMs = options.nodeTimeoutMs ?? wait;
        await until(() => b!.node.events.some((e) => e.kind === 'leave' && e.entry.client === 'cv'), 'vanished node dropped', timeoutMs * 3);
        const droppedAfter = Date.now() - cutAt;
        console.log(`[conformance ${name}] a vanished node's client left presence after ${droppedAfter} ms (node timeout ${timeoutMs} ms)`);
        expect(await b!.adapter.presence(topic)).toEqual([]);
        await faults.heal(a!.adapter);
        await until(() => b!.node.events.filter((e) => e.kind === 'join' && e.entry.client === 'cv').length === 2, 'presence healed', wait * 2);
        expect(await b!.adapter.presence(topic)).toEqual([{ client: 'cv', user: 'uv' }]);
      });
    });
  });
}
