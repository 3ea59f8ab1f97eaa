/**
 * The in-memory cluster adapter: broker instances in one process that share a MemoryBus act as one
 * cluster (publications, history, presence). A broker without an adapter gets one on a private bus,
 * so a single node runs the same code path as a cluster.
 */
import { randomBytes } from 'node:crypto';
import type { AdapterNode, ClusterAdapter, HistoryQuery, HistoryResult } from '../../core/contracts.js';
import { HeraldError } from '../../core/errors.js';
import type { Position, PresenceEntry } from '../../core/protocol.js';
import { Publication } from '../../core/publication.js';
import { Router } from '../../core/router.js';
import { matches } from '../../core/topic.js';
import { TopicHistory } from './topic-history.js';

interface Member {
  readonly node: AdapterNode;
  /** Patterns this node has interest in. */
  readonly patterns: Set<string>;
}

/** State shared by the adapters of one simulated cluster. Create one per cluster. */
export class MemoryBus {
  /** Changes with every new bus: an in-memory history does not survive a restart. */
  readonly epoch = randomBytes(4).toString('hex');
  readonly members = new Map<string, Member>();
  readonly interest = new Router<Member>();
  /** Topic histories in least-recently-published order (Map iteration order), for eviction. */
  readonly histories = new Map<string, TopicHistory>();
  /**
   * Histories of topics read (history, sub) but never published, holding only their epoch. Kept
   * apart under the same bound, so reading or subscribing to any number of topics never pushes a
   * published topic's history out.
   */
  private readonly unpublished = new Map<string, TopicHistory>();
  readonly presence = new Map<string, Map<string, { entry: PresenceEntry; node: string }>>();
  private generation = 0;
  /** One order across every topic of the bus (Publication.sequence). */
  sequence = 0;

  /** The history of `topic`; `publishing` makes it the most recently published (evicting past maxTopics). */
  historyOf(topic: string, maxTopics: number, publishing: boolean): TopicHistory {
    const h = this.histories.get(topic);
    if (h !== undefined) {
      if (publishing) {
        this.histories.delete(topic);
        this.histories.set(topic, h);
      }
      return h;
    }
    let fresh = this.unpublished.get(topic);
    if (fresh === undefined) fresh = new TopicHistory(`${this.epoch}-${(++this.generation).toString(36)}`);
    else this.unpublished.delete(topic);
    // A read files it with the unpublished, a publish with the published: each map evicts its oldest.
    const into = publishing ? this.histories : this.unpublished;
    if (into.size >= maxTopics) into.delete(into.keys().next().value!);
    into.set(topic, fresh);
    return fresh;
  }
}

export function createMemoryBus(): MemoryBus {
  return new MemoryBus();
}

export interface MemoryAdapterOptions {
  /** The bus shared with the other nodes; omit for a single node. */
  bus?: MemoryBus;
}

export class MemoryAdapter implements ClusterAdapter {
  readonly name = 'memory';
  private readonly bus: MemoryBus;
  private member: Member | undefined;

  constructor(options: MemoryAdapterOptions = {}) {
    this.bus = options.bus ?? new MemoryBus();
  }

  private get self(): Member {
    if (this.member === undefined) throw new HeraldError('internal', 'memory adapter used before start() or after close()');
    return this.member;
  }

  async start(node: AdapterNode): Promise<void> {
    if (this.bus.members.has(node.id)) throw new Error(`node id ${node.id} is already on this bus`);
    this.member = { node, patterns: new Set() };
    this.bus.members.set(node.id, this.member);
  }

  private keepsHistory(topic: string): boolean {
    const h = this.self.node.history;
    return h.size > 0 && h.topics.some((p) => matches(p, topic));
  }

  async publish(topic: string, data: unknown): Promise<Position | undefined> {
    const self = this.self;
    let pub: Publication;
    if (this.keepsHistory(topic)) {
      const { size, ttl, maxTopics } = self.node.history;
      pub = this.bus.historyOf(topic, maxTopics, true).append(topic, data, size, ttl, Date.now(), self.node.id, ++this.bus.sequence);
    } else {
      pub = new Publication(topic, data, undefined, undefined, self.node.id);
    }
    for (const member of this.bus.interest.match(topic)) if (member !== self) member.node.deliver(pub);
    return pub.offset === undefined ? undefined : { offset: pub.offset, epoch: pub.epoch! };
  }

  async subscribe(pattern: string): Promise<void> {
    const self = this.self;
    if (!self.patterns.has(pattern)) {
      self.patterns.add(pattern);
      this.bus.interest.add(pattern, self);
    }
  }

  async unsubscribe(pattern: string): Promise<void> {
    const self = this.self;
    if (self.patterns.delete(pattern)) this.bus.interest.remove(pattern, self);
  }

  async history(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    if (!this.keepsHistory(topic)) throw new HeraldError('unsupported', `topic ${topic} keeps no history`);
    const { size, ttl, maxTopics } = this.self.node.history;
    return this.bus.historyOf(topic, maxTopics, false).read(query, size, ttl, Date.now());
  }

  async join(topic: string, entry: PresenceEntry): Promise<void> {
    const self = this.self;
    let clients = this.bus.presence.get(topic);
    if (clients === undefined) this.bus.presence.set(topic, (clients = new Map()));
    clients.set(entry.client, { entry, node: self.node.id });
    this.announce('join', topic, entry);
  }

  async leave(topic: string, client: string): Promise<void> {
    const clients = this.bus.presence.get(topic);
    const found = clients?.get(client);
    if (!clients || !found) return;
    clients.delete(client);
    if (clients.size === 0) this.bus.presence.delete(topic);
    this.announce('leave', topic, found.entry);
  }

  async presence(topic: string): Promise<PresenceEntry[]> {
    const clients = this.bus.presence.get(topic);
    return clients ? [...clients.values()].map((c) => c.entry) : [];
  }

  private announce(kind: 'join' | 'leave', topic: string, entry: PresenceEntry): void {
    const self = this.self;
    for (const member of this.bus.members.values()) if (member !== self) member.node.presenceEvent(kind, topic, entry);
  }

  /** Leaves the bus: withdraws interest and this node's presence (announced as leaves). */
  async close(): Promise<void> {
    const self = this.member;
    if (self === undefined) return;
    for (const pattern of self.patterns) this.bus.interest.remove(pattern, self);
    self.patterns.clear();
    for (const [topic, clients] of this.bus.presence) {
      for (const [client, c] of clients) {
        if (c.node === self.node.id) {
          clients.delete(client);
          this.announce('leave', topic, c.entry);
        }
      }
      if (clients.size === 0) this.bus.presence.delete(topic);
    }
    this.bus.members.delete(self.node.id);
    this.member = undefined;
  }
}

/** A memory adapter; pass the same `bus` to brokers that should act as one cluster. */
export function memoryAdapter(options: MemoryAdapterOptions = {}): ClusterAdapter {
  return new MemoryAdapter(options) satisfies ClusterAdapter;
}
