/**
 * Every topic history of one memory bus, under the bounds of `history` (size, ttl, maxTopics,
 * maxBytes). Only a publish creates state: reading or subscribing to a topic that has none answers
 * from a throwaway empty history, so no client can make the broker hold anything by asking.
 *
 * Epochs: a topic without state reports the bus's current generation as its epoch, and its first
 * publish starts there, so a resume from `{offset: 0}` read before that publish recovers it. Every
 * drop of a topic's state (maxTopics, byte budget, TTL sweep) moves the generation on, so a topic
 * that starts over never reuses an epoch its earlier offsets were given: those resumes say
 * recovered:false.
 */
import type { HistoryBounds, HistoryQuery, HistoryResult, HistoryStore, HistoryStoreStats } from '../contracts.js';
import { HeraldError } from '../errors.js';
import type { Publication } from '../publication.js';
import { approximateSize } from './approximate-size.js';
import { TopicHistory } from './topic-history.js';

export class MemoryHistory implements HistoryStore {
  readonly name = 'memory';
  private readonly epoch: string;
  /** Epoch-milliseconds clock; tests inject one to age publications without waiting. */
  readonly now: () => number;
  /** Histories in least-recently-published order (Map iteration order), for eviction. */
  private readonly topics = new Map<string, TopicHistory>();
  private generation = 0;
  /** One order across every topic of the bus (Publication.sequence). */
  private sequence = 0;
  /** approximateSize() of every publication kept, held under maxBytes. */
  bytes = 0;

  private bounds: HistoryBounds | undefined;
  private opened = 0;

  constructor(epoch: string, now: () => number = Date.now) {
    this.epoch = epoch;
    this.now = now;
  }

  /** Counted: the first open (of the nodes on one bus) sets the bounds. */
  async open(bounds: HistoryBounds): Promise<void> {
    if (this.opened++ === 0) this.bounds = bounds;
  }

  async close(): Promise<void> {
    if (this.opened > 0) this.opened--;
  }

  private get settings(): HistoryBounds {
    if (this.bounds === undefined || this.opened === 0) throw new HeraldError('internal', 'history store used before open() or after close()');
    return this.bounds;
  }

  stats(): HistoryStoreStats {
    let publications = 0;
    for (const h of this.topics.values()) publications += h.length;
    return { topics: this.topics.size, publications, bytes: this.bytes };
  }

  /** Topics holding state. */
  get size(): number {
    return this.topics.size;
  }

  async append(topic: string, data: unknown, origin: string): Promise<Publication> {
    const settings = this.settings;
    let h = this.topics.get(topic);
    if (h !== undefined) this.topics.delete(topic);
    else {
      if (this.topics.size >= settings.maxTopics) this.drop(this.topics.keys().next().value!);
      h = new TopicHistory(this.currentEpoch());
    }
    this.topics.set(topic, h); // now the most recently published
    const before = h.bytes;
    const pub = h.append(topic, data, approximateSize(data), settings.size, settings.ttl, this.now(), origin, ++this.sequence);
    this.bytes += h.bytes - before;
    this.enforceBudget(settings.maxBytes, h);
    return pub;
  }

  async read(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    const settings = this.settings;
    const h = this.topics.get(topic);
    if (h === undefined) return new TopicHistory(this.currentEpoch()).read(query, settings.size, settings.ttl, this.now());
    const before = h.bytes;
    const result = h.read(query, settings.size, settings.ttl, this.now());
    this.bytes += h.bytes - before;
    return result;
  }

  /** Frees what outlived `ttl`, and the topics left with nothing. Returns how many topics it freed. */
  sweep(): number {
    if (this.opened === 0) return 0;
    const { ttl } = this.settings;
    const now = this.now();
    let freed = 0;
    for (const [topic, h] of this.topics) {
      const before = h.bytes;
      h.expire(ttl, now);
      this.bytes += h.bytes - before;
      if (h.length === 0) {
        this.drop(topic);
        freed++;
      }
    }
    return freed;
  }

  /** Oldest first: the least recently published topics lose their oldest publications, then their state. */
  private enforceBudget(maxBytes: number, appended: TopicHistory): void {
    while (this.bytes > maxBytes) {
      const [topic, h] = this.topics.entries().next().value!;
      const before = h.bytes;
      h.dropOldest();
      this.bytes += h.bytes - before;
      if (h === appended) {
        // The only topic left: keep its offsets going even when one publication outweighs the budget.
        if (h.length === 0) break;
      } else if (h.length === 0) this.drop(topic);
    }
  }

  private drop(topic: string): void {
    const h = this.topics.get(topic);
    if (h === undefined) return;
    this.bytes -= h.bytes;
    this.topics.delete(topic);
    this.generation++;
  }

  private currentEpoch(): string {
    return `${this.epoch}-${this.generation.toString(36)}`;
  }
}
