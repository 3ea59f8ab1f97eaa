/**
 * The in-memory cluster adapter: broker instances in one process that share a MemoryBus act as one
 * cluster (publications, history, presence). A broker without an adapter gets one on a private bus,
 * so a single node runs the same code path as a cluster. History lives in the bus's HistoryStore:
 * in memory (MemoryHistory) unless the bus is given a durable one (herald/adapters/lmdb).
 *
 * An engine on ClusterAdapterBase (adapter-base.ts): the base owns echo dropping, duplicate
 * filtering and the history choice; nothing between the nodes of one process can fail, so it never
 * reports a link fault.
 */
import { randomBytes } from 'node:crypto';
import type { AdapterNode, ClusterAdapter, ControlCommand, NodeControlReply, HistoryQuery, HistoryResult, HistoryStore, PublishOnceResult } from '../contracts.js';
import { ConfigError, SetupError } from '../errors.js';
import type { Position, PresenceEntry } from '../protocol.js';
import { Router } from '../router.js';
import { ClusterAdapterBase, type Received } from './adapter-base.js';
import { MemoryHistory } from './memory-history.js';

interface Member {
  readonly node: AdapterNode;
  /** Hands a publication of another node to this one (ClusterAdapterBase.receive). */
  readonly receive: (message: Received) => void;
  readonly presenceEvent: (kind: 'join' | 'leave', topic: string, entry: PresenceEntry) => void;
  /** Patterns this node has interest in. */
  readonly patterns: Set<string>;
}

/** State shared by the adapters of one simulated cluster. Create one per cluster. */
export class MemoryBus {
  /** Changes with every new bus: an in-memory history does not survive a restart. */
  readonly epoch = randomBytes(4).toString('hex');
  readonly members = new Map<string, Member>();
  readonly interest = new Router<Member>();
  /** Where the bus keeps history: shared by its nodes, like a cluster's one history. */
  readonly history: HistoryStore;
  readonly presence = new Map<string, Map<string, { entry: PresenceEntry; node: string }>>();
  /**
   * Idempotency keys of the bus (every node sees the same ones), in insertion order for expiry and
   * eviction: the position of the first publication under the key, or its promise while in flight.
   */
  readonly idempotency = new Map<string, { expiresAt: number; position: Promise<Position | undefined> }>();

  constructor(options: MemoryBusOptions = {}) {
    this.history = options.store ?? new MemoryHistory(this.epoch, options.now);
  }
}

export interface MemoryBusOptions {
  /** Epoch-milliseconds clock for history ages (default Date.now); tests pass one they can move. */
  now?: () => number;
  /** Where history is kept: in memory by default; `lmdbHistory({ dir })` (herald/adapters/lmdb) on disk. */
  store?: HistoryStore;
}

export function createMemoryBus(options: MemoryBusOptions = {}): MemoryBus {
  return new MemoryBus(options);
}

export interface MemoryAdapterOptions {
  /** The bus shared with the other nodes; omit for a single node. */
  bus?: MemoryBus;
  /** A single node's history store (without `bus`: a shared bus brings its own). */
  store?: HistoryStore;
  /**
   * Milliseconds between sweeps that free publications past `history.ttl` on idle topics (and the
   * topics left empty). Default: a quarter of the ttl, between 1 s and 60 s.
   */
  sweepInterval?: number;
}

export class MemoryAdapter extends ClusterAdapterBase {
  readonly name = 'memory';
  private readonly bus: MemoryBus;
  private readonly sweepInterval: number | undefined;
  private member: Member | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: MemoryAdapterOptions = {}) {
    super();
    if (options.bus !== undefined && options.store !== undefined) throw new ConfigError([{ path: 'store', message: 'give the store to createMemoryBus({ store }) when sharing a bus' }], 'invalid memoryAdapter options');
    this.bus = options.bus ?? new MemoryBus({ store: options.store });
    this.sweepInterval = options.sweepInterval;
  }

  private get self(): Member {
    this.node; // throws before start() and after close()
    return this.member!;
  }

  protected async connect(node: AdapterNode): Promise<void> {
    if (this.bus.members.has(node.id)) throw new SetupError('node_id_taken', `node id ${node.id} is already on this bus`);
    await this.bus.history.open(node.history);
    this.member = {
      node, patterns: new Set(),
      receive: (message) => this.receive(message),
      presenceEvent: (kind, topic, entry) => this.presenceEvent(kind, topic, entry),
    };
    this.bus.members.set(node.id, this.member);
    const every = this.sweepInterval ?? Math.min(60_000, Math.max(1000, Math.floor(node.history.ttl / 4)));
    // Idle topics are never appended to or read, so only a timer frees what outlived the ttl there.
    this.sweeper = setInterval(() => this.bus.history.sweep(), every).unref();
  }

  protected async doPublish(topic: string, data: unknown, history: boolean): Promise<Position | undefined> {
    const self = this.self;
    let position: Position | undefined;
    if (history) {
      const pub = await this.bus.history.append(topic, data, self.node.id);
      position = { offset: pub.offset!, epoch: pub.epoch! };
    }
    const message: Received = { ...this.stamp(), topic, data, ...position };
    // The base drops this node's own echo; the router names each member once.
    for (const member of this.bus.interest.match(topic)) member.receive(message);
    return position;
  }

  protected async doPublishOnce(key: string, windowMs: number, publish: () => Promise<Position | undefined>): Promise<PublishOnceResult> {
    const self = this.self;
    const keys = this.bus.idempotency;
    const now = Date.now();
    // Oldest first: expired keys go, and past the bound the oldest go too.
    for (const [k, e] of keys) {
      if (e.expiresAt > now && keys.size < self.node.maxIdempotencyKeys) break;
      keys.delete(k);
    }
    const seen = keys.get(key);
    if (seen !== undefined) return { position: await seen.position, duplicate: true };
    const position = publish();
    const entry = { expiresAt: now + windowMs, position };
    keys.set(key, entry);
    // A failed first publish frees its key: a retry may publish.
    position.catch(() => { if (keys.get(key) === entry) keys.delete(key); });
    return { position: await position, duplicate: false };
  }

  async gatherControl(command: ControlCommand): Promise<NodeControlReply[]> {
    this.self;
    return Promise.all([...this.bus.members.values()].map((m) => m.node.control(command)));
  }

  protected async doSubscribe(pattern: string): Promise<undefined> {
    const self = this.self;
    self.patterns.add(pattern);
    this.bus.interest.add(pattern, self);
    return undefined;
  }

  protected async doUnsubscribe(pattern: string): Promise<void> {
    const self = this.member;
    if (self?.patterns.delete(pattern)) this.bus.interest.remove(pattern, self);
  }

  protected readHistory(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    return this.bus.history.read(topic, query);
  }

  async join(topic: string, entry: PresenceEntry): Promise<void> {
    const self = this.self;
    let clients = this.bus.presence.get(topic);
    if (clients === undefined) this.bus.presence.set(topic, (clients = new Map()));
    clients.set(entry.client, { entry, node: self.node.id });
    this.announce(self, 'join', topic, entry);
  }

  async leave(topic: string, client: string): Promise<void> {
    const self = this.self;
    const clients = this.bus.presence.get(topic);
    const found = clients?.get(client);
    if (!clients || !found) return;
    clients.delete(client);
    if (clients.size === 0) this.bus.presence.delete(topic);
    this.announce(self, 'leave', topic, found.entry);
  }

  async presence(topic: string): Promise<PresenceEntry[]> {
    const clients = this.bus.presence.get(topic);
    return clients ? [...clients.values()].map((c) => c.entry) : [];
  }

  private announce(self: Member, kind: 'join' | 'leave', topic: string, entry: PresenceEntry): void {
    for (const member of this.bus.members.values()) if (member !== self) member.presenceEvent(kind, topic, entry);
  }

  /** Leaves the bus: withdraws interest and this node's presence (announced as leaves). */
  protected async disconnect(): Promise<void> {
    const self = this.member;
    if (self === undefined) return;
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const pattern of self.patterns) this.bus.interest.remove(pattern, self);
    self.patterns.clear();
    for (const [topic, clients] of this.bus.presence) {
      for (const [client, c] of clients) {
        if (c.node === self.node.id) {
          clients.delete(client);
          this.announce(self, 'leave', topic, c.entry);
        }
      }
      if (clients.size === 0) this.bus.presence.delete(topic);
    }
    this.bus.members.delete(self.node.id);
    this.member = undefined;
    await this.bus.history.close();
  }
}

export { MemoryHistory } from './memory-history.js';

/** A history store in memory (what a bus gets when given none). */
export function memoryHistory(options: MemoryBusOptions = {}): HistoryStore {
  return new MemoryHistory(randomBytes(4).toString('hex'), options.now);
}

/** A memory adapter; pass the same `bus` to brokers that should act as one cluster. */
export function memoryAdapter(options: MemoryAdapterOptions = {}): ClusterAdapter {
  return new MemoryAdapter(options) satisfies ClusterAdapter;
}
