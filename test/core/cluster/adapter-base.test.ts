/**
 * ClusterAdapterBase on its own, under a loopback engine written here (two nodes wired by direct
 * calls, the link cut by the test): what the base owns for every engine, whatever the engine is.
 * The base under real engines: the conformance suite (memory, nats) and the NATS fault tests.
 */
import { describe, expect, it } from 'vitest';
import { ClusterAdapterBase, type Received } from '../../../core/cluster/adapter-base.js';
import type { AdapterNode, ControlCommand, NodeControlReply, HistoryQuery, HistoryResult, PublishOnceResult } from '../../../core/contracts.js';
import { HeraldError } from '../../../core/errors.js';
import type { Position, PresenceEntry } from '../../../core/protocol.js';
import { recordingNode } from '../../adapters/conformance.js';

/** The smallest engine: sends every message to its peers, copies included, and records what it was told. */
class LoopbackEngine extends ClusterAdapterBase {
  readonly name = 'loopback';
  peers: LoopbackEngine[] = [];
  /** What doPublish was told: the history choice per publish. */
  readonly published: { topic: string; history: boolean }[] = [];
  up = true;
  private offset = 0;
  /** Copies per message (a NATS node subscribed to `a.*` and `a.>` gets two). */
  copies = 1;

  protected async connect(): Promise<void> {}
  protected async disconnect(): Promise<void> {}
  protected async doPublish(topic: string, data: unknown, history: boolean): Promise<Position | undefined> {
    this.published.push({ topic, history });
    const position = history ? { offset: ++this.offset, epoch: 'e' } : undefined;
    const message: Received = { ...this.stamp(), topic, data, ...position };
    // Back to itself too: the base drops the echo.
    for (const peer of [this, ...this.peers]) if (peer.up) for (let i = 0; i < this.copies; i++) peer.arrive(message);
    return position;
  }
  arrive(message: Received): void {
    this.receive(message);
  }
  protected async doPublishOnce(_key: string, _windowMs: number, publish: () => Promise<Position | undefined>): Promise<PublishOnceResult> {
    return { position: await publish(), duplicate: false };
  }
  protected async doSubscribe(): Promise<undefined> { return undefined; }
  protected async doUnsubscribe(): Promise<void> {}
  protected async readHistory(_topic: string, _query: HistoryQuery): Promise<HistoryResult> {
    return { publications: [], position: { offset: this.offset, epoch: 'e' }, recovered: false };
  }
  async gatherControl(_command: ControlCommand): Promise<NodeControlReply[]> { return []; }
  async join(_topic: string, _entry: PresenceEntry): Promise<void> {}
  async leave(): Promise<void> {}
  async presence(): Promise<PresenceEntry[]> { return []; }
  cut(): void { this.up = false; this.linkLost(); }
  heal(): Promise<void> { this.up = true; return this.linkRestored(); }
}

async function pair(history: Parameters<typeof recordingNode>[0] = {}) {
  const a = new LoopbackEngine();
  const b = new LoopbackEngine();
  a.peers = [b];
  b.peers = [a];
  const nodeA = recordingNode(history);
  const nodeB = recordingNode(history);
  await a.start(nodeA);
  await b.start(nodeB);
  return { a, b, nodeA, nodeB };
}

describe('ClusterAdapterBase', () => {
  it('drops the publisher\'s own echo and extra copies of one message, and delivers each once elsewhere', async () => {
    const { a, nodeA, nodeB } = await pair({ topics: ['kept.>'] });
    a.copies = 3;
    await a.publish('free.x', 1);
    await a.publish('free.x', 2);
    expect(nodeA.delivered).toEqual([]);
    expect(nodeB.delivered.map((p) => [p.data, p.origin])).toEqual([[1, nodeA.id], [2, nodeA.id]]);
  });

  it('passes the broker\'s history choice to the engine, asks the broker\'s policy when not given, and refuses history reads of topics without it', async () => {
    const { a } = await pair({ topics: ['kept.>'] });
    await a.publish('kept.x', 1, { history: true });
    await a.publish('kept.x', 2, { history: false });
    await a.publish('kept.y', 3);
    await a.publish('free.y', 4);
    await a.publishOnce('kept.z', 5, 'k', 1000);
    expect(a.published).toEqual([
      { topic: 'kept.x', history: true }, { topic: 'kept.x', history: false },
      { topic: 'kept.y', history: true }, { topic: 'free.y', history: false }, { topic: 'kept.z', history: true },
    ]);
    await expect(a.history('free.y', {})).rejects.toSatisfy((e: unknown) => e instanceof HeraldError && e.code === 'unsupported');
    expect((await a.history('kept.x', {})).position.offset).toBe(3); // kept.x, kept.y, kept.z stored
  });

  it('an engine without a repair source reports every pattern of the node once its broken link is back', async () => {
    const { a, b, nodeB } = await pair();
    await b.subscribe('p.>');
    await b.subscribe('q');
    await b.unsubscribe('q');
    b.cut();
    await a.publish('p.x', 'lost');
    expect(nodeB.gaps).toEqual([]); // nothing is said while the link is down
    await b.heal();
    expect(nodeB.gaps).toEqual([['p.>']]);
    await b.heal(); // an unbroken link reports nothing
    expect(nodeB.gaps).toHaveLength(1);
    await a.publish('p.x', 'live');
    expect(nodeB.delivered.map((p) => p.data)).toEqual(['live']);
  });

  it('a subscriber failing on delivery does not reach the engine', async () => {
    const a = new LoopbackEngine();
    const b = new LoopbackEngine();
    a.peers = [b];
    const failing: AdapterNode = { ...recordingNode(), deliver: () => { throw new Error('subscriber broke'); } };
    await a.start(recordingNode());
    await b.start(failing);
    await expect(a.publish('t', 1)).resolves.toBeDefined();
  });

  it('refuses use before start() and after close()', async () => {
    const fresh = new LoopbackEngine();
    await expect(fresh.publish('t', 1)).rejects.toSatisfy((e: unknown) => e instanceof HeraldError && e.code === 'internal');
    const { a } = await pair();
    await a.close();
    await expect(a.publish('t', 1)).rejects.toSatisfy((e: unknown) => e instanceof HeraldError && e.code === 'internal');
  });
});
