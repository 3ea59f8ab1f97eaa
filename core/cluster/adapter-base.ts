/**
 * What every cluster engine shares, written once (as socket.io-adapter's ClusterAdapter owns its
 * protocol and an engine implements doPublish): an engine extends ClusterAdapterBase and implements
 * the small engine contract below; the base implements ClusterAdapter for the broker.
 *
 * The base owns:
 * - the history choice: the broker decides per publish (`history`), the base asks the broker's
 *   policy (AdapterNode.keepsHistory) when a caller did not say, and refuses history reads of topics
 *   without it, so no engine matches `history.topics` itself;
 * - the stamp every node-to-node publication carries (origin node, incarnation, counter) and, on the
 *   way in, echo dropping and per-sender duplicate filtering;
 * - interest bookkeeping (which patterns this node asked the engine for);
 * - gap signalling: an engine reports that its link broke and came back; the base repairs from the
 *   engine's stream when it offers one (gap-repair.ts) and reports to the broker (AdapterNode.missed)
 *   only the patterns it cannot repair;
 * - safe local delivery (a subscriber's failure never reaches the engine's callbacks).
 */
import { randomBytes } from 'node:crypto';
import type { AdapterNode, ClusterAdapter, ControlCommand, NodeControlReply, HistoryQuery, HistoryResult, PublishOnceResult, PublishSettings } from '../contracts.js';
import { HeraldError, SetupError } from '../errors.js';
import type { Position, PresenceEntry } from '../protocol.js';
import { Publication } from '../publication.js';
import { GapRepair, type RepairRead } from './gap-repair.js';

/** What travels with every publication from one node to the others (the engine encodes it as it likes). */
export interface Stamp {
  /** The node that accepted the publication: its own copies are dropped on the way back in. */
  readonly origin: string;
  /** A random token per adapter start, so counters of a restarted node id start fresh. */
  readonly incarnation: string;
  /** Per incarnation, increasing in send order: several copies of one message are delivered once. */
  readonly n: number;
}

/** A publication from another node, as the engine received it. */
export interface Received extends Stamp {
  readonly topic: string;
  readonly data: unknown;
  /** Position when the topic keeps history and the engine stored it. */
  readonly offset?: number;
  readonly epoch?: string;
}

/**
 * An engine whose stored publications share one cluster-wide sequence (offsets) can let the base
 * repair what a node missed during a link fault, by reading that sequence back.
 */
export interface RepairSource {
  /** Milliseconds a repair keeps retrying a failing read while connected before it reports the gap. */
  readonly patienceMs: number;
  /** True while the link is up. */
  connected(): boolean;
  /** Resolves once the cluster has this node's subscriptions again (after a reconnect). */
  ready(): Promise<void>;
  /** Per pattern, what the stream holds after `from[pattern]`, in stream order (at most MAX_REPAIRED). */
  read(from: Map<string, number>, epoch: string | undefined): Promise<RepairRead>;
}

interface Sender {
  last: number;
  seen: number;
}

/** Senders silent this long are forgotten (their counters are only needed while copies are in flight). */
const SENDER_MEMORY_MS = 10 * 60_000;

export abstract class ClusterAdapterBase implements ClusterAdapter {
  abstract readonly name: string;
  /** A random token per start: receivers key their duplicate filter by it. */
  protected readonly incarnation = randomBytes(6).toString('hex');
  private current: AdapterNode | undefined;
  private stopped = false;
  private sent = 0;
  private readonly wanted = new Set<string>();
  private readonly senders = new Map<string, Sender>();
  private repair: GapRepair | undefined;
  /** Link broke and no repair source: every pattern is reported once the link is back. */
  private broken = false;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** Publications received from other nodes: handed to the broker, dropped as copies or as this node's echo. */
  protected readonly receivedCounts = { received: 0, delivered: 0, duplicates: 0, echoes: 0 };

  // ------------------------------------------------------------------ the engine contract

  /**
   * Connects to the cluster. Once it resolves, publish/subscribe/presence calls may come, and the
   * engine hands what arrives from other nodes to receive() (and presence changes to
   * `node.presenceEvent`). Reject with an error naming the cause when the cluster cannot be reached.
   */
  protected abstract connect(node: AdapterNode): Promise<void>;
  /** Leaves the cluster: withdraws interest, says goodbye to presence; bounded in time. */
  protected abstract disconnect(): Promise<void>;
  /**
   * Stores the publication when `history` (assigning its position: offsets of one topic increase in
   * publish order within an epoch) and sends `stamp`, topic, data and position to every other node
   * with interest in a matching pattern. Resolves once it will reach them; rejects with
   * HeraldError('unavailable') when it cannot, and then no node may deliver it. The engine calls
   * stamp() when it sends, so counters increase in send order.
   */
  protected abstract doPublish(topic: string, data: unknown, history: boolean): Promise<Position | undefined>;
  /** ClusterAdapter.publishOnce with the history choice made; the engine keeps the keys cluster-wide and publishes through `publish`. */
  protected abstract doPublishOnce(key: string, windowMs: number, publish: () => Promise<Position | undefined>): Promise<PublishOnceResult>;
  /**
   * Asks the cluster for publications matching `pattern` (called once per pattern); resolves once no
   * later publication can be missed. With a RepairSource: the stream position a repair of this
   * pattern may start from (undefined: unknown).
   */
  protected abstract doSubscribe(pattern: string): Promise<number | undefined>;
  protected abstract doUnsubscribe(pattern: string): Promise<void>;
  /** The topic's stored history (the base has checked that the topic keeps history). */
  protected abstract readHistory(topic: string, query: HistoryQuery): Promise<HistoryResult>;
  abstract gatherControl(command: ControlCommand): Promise<NodeControlReply[]>;
  /** Presence (Centrifuge's PresenceManager): visible to presence() on every node, reported to the others. */
  abstract join(topic: string, entry: PresenceEntry): Promise<void>;
  abstract leave(topic: string, client: string): Promise<void>;
  abstract presence(topic: string): Promise<PresenceEntry[]>;
  /** An engine with a cluster-wide stored sequence returns how to read it back; others return undefined. */
  protected repairSource(): RepairSource | undefined {
    return undefined;
  }

  // ------------------------------------------------------------------ ClusterAdapter, for the broker

  /** The broker's node; throws before start() and after close(). */
  protected get node(): AdapterNode {
    if (this.current === undefined || this.stopped) throw new HeraldError('internal', `${this.name} adapter used before start() or after close()`);
    return this.current;
  }

  async start(node: AdapterNode): Promise<void> {
    if (this.current !== undefined) throw new SetupError('already_started', `${this.name} adapter: start() called twice`);
    this.current = node;
    const source = this.repairSource();
    if (source !== undefined) {
      this.repair = new GapRepair({
        nodeId: node.id, logger: node.logger, patienceMs: source.patienceMs,
        deliver: (pub) => node.deliver(pub),
        missed: (patterns) => node.missed(patterns),
        connected: () => source.connected() && !this.stopped,
        patterns: () => [...this.wanted],
        repairable: (pattern) => node.historyCovers(pattern),
        ready: () => source.ready(),
        read: (from, epoch) => source.read(from, epoch),
      });
    }
    try {
      await this.connect(node);
    } catch (err) {
      this.stopped = true;
      throw err;
    }
    this.pruneTimer = setInterval(() => this.pruneSenders(), 60_000).unref();
  }

  async close(): Promise<void> {
    if (this.current === undefined || this.stopped) return;
    clearInterval(this.pruneTimer);
    this.stopped = true;
    this.wanted.clear();
    await this.disconnect();
  }

  async publish(topic: string, data: unknown, settings?: PublishSettings): Promise<Position | undefined> {
    const node = this.node;
    return this.doPublish(topic, data, settings?.history ?? node.keepsHistory(topic));
  }

  async publishOnce(topic: string, data: unknown, key: string, windowMs: number, settings?: PublishSettings): Promise<PublishOnceResult> {
    const history = settings?.history ?? this.node.keepsHistory(topic);
    return this.doPublishOnce(key, windowMs, () => this.doPublish(topic, data, history));
  }

  async subscribe(pattern: string): Promise<void> {
    this.node;
    if (this.wanted.has(pattern)) return;
    this.wanted.add(pattern);
    const floor = await this.doSubscribe(pattern);
    if (this.wanted.has(pattern)) this.repair?.subscribed(pattern, floor);
  }

  async unsubscribe(pattern: string): Promise<void> {
    this.node;
    if (!this.wanted.delete(pattern)) return;
    await this.doUnsubscribe(pattern);
    this.repair?.unsubscribed(pattern);
  }

  async history(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    if (!this.node.keepsHistory(topic)) throw new HeraldError('unsupported', `topic ${topic} keeps no history`);
    return this.readHistory(topic, query);
  }

  // ------------------------------------------------------------------ for engines

  /** Patterns this node has interest in now. */
  protected get patterns(): string[] {
    return [...this.wanted];
  }

  /** The stamp of the next publication this node sends. */
  protected stamp(): Stamp {
    return { origin: this.node.id, incarnation: this.incarnation, n: ++this.sent };
  }

  /**
   * A publication from the cluster. Drops this node's own echo and copies already delivered (one
   * message matched by several subscriptions of this node: its counter is not above the last one
   * seen from its sender). Stored ones skip the counter check: a publisher re-sends unconfirmed
   * copies after its own reconnect, older than its newest, and the repair drops duplicates by
   * sequence instead.
   */
  protected receive(message: Received): void {
    this.receivedCounts.received++;
    const node = this.current;
    if (node === undefined || this.stopped) return;
    if (message.origin === node.id) { this.receivedCounts.echoes++; return; }
    const now = Date.now();
    let sender = this.senders.get(message.incarnation);
    if (sender === undefined) this.senders.set(message.incarnation, (sender = { last: -1, seen: now }));
    if (message.offset === undefined && message.n <= sender.last) { this.receivedCounts.duplicates++; return; }
    if (message.n > sender.last) sender.last = message.n;
    sender.seen = now;
    this.receivedCounts.delivered++;
    const stored = message.offset !== undefined;
    const pub = new Publication(message.topic, message.data, message.offset, stored ? message.epoch : undefined, message.origin);
    if (this.repair !== undefined) this.repair.live(pub);
    else this.deliverSafely(pub);
  }

  /** A presence change on another node, handed to this node's subscribers. */
  protected presenceEvent(kind: 'join' | 'leave', topic: string, entry: PresenceEntry): void {
    const node = this.current;
    if (node === undefined) return;
    try {
      node.presenceEvent(kind, topic, entry);
    } catch (err) {
      node.logger.error({ err, topic }, 'local presence push failed');
    }
  }

  /** This node stored a publication at this position (delivered locally by the broker): never repaired or delivered again. */
  protected stored(position: Position): void {
    this.repair?.own(position.offset, position.epoch);
  }

  /** The stream's position when a stored publication was last known (at start, say). */
  protected streamAt(seq: number, epoch: string | undefined): void {
    this.repair?.known(seq, epoch);
  }

  /** The link broke (or the client dropped messages): live publications wait until linkRestored() has repaired the gap. */
  protected linkLost(): void {
    if (this.repair !== undefined) this.repair.begin();
    else this.broken = true;
  }

  /** The link is back with its subscriptions: repair what can be repaired, report the rest. */
  protected linkRestored(): Promise<void> {
    if (this.repair !== undefined) return this.repair.repair();
    if (this.broken) {
      this.broken = false;
      if (this.wanted.size > 0) this.node.missed([...this.wanted]);
    }
    return Promise.resolve();
  }

  /** Repair counters (zero without a repair source). */
  protected get repairCounts(): GapRepair['counts'] {
    return this.repair?.counts ?? { repairs: 0, repaired: 0, duplicates: 0, unrepaired: 0 };
  }

  private deliverSafely(pub: Publication): void {
    try {
      this.current!.deliver(pub);
    } catch (err) {
      // A subscriber's failure must not take the engine's subscription (or the process) down with it.
      this.current!.logger.error({ err, topic: pub.topic }, 'local delivery of a remote publication failed');
    }
  }

  private pruneSenders(): void {
    const cutoff = Date.now() - SENDER_MEMORY_MS;
    for (const [key, sender] of this.senders) if (sender.seen < cutoff) this.senders.delete(key);
  }
}
