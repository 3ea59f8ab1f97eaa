/**
 * Which topics keep history (broker option `history`): decided by the broker, once, for every engine.
 * The broker passes the answer with each publish (ClusterAdapter.publish's `history`), as
 * Centrifuge's node passes history size and ttl with each publish; an engine stores what it is told.
 */
import type { HistoryBounds } from '../contracts.js';
import { covers, matches } from '../topic.js';

/** Topics remembered; past it the cache starts over (a topic space larger than this only costs the matching). */
const CACHE_LIMIT = 10_000;

export class HistoryPolicy {
  private readonly size: number;
  private readonly topics: readonly string[];
  private readonly cache = new Map<string, boolean>();

  constructor(history: Pick<HistoryBounds, 'size'> & { readonly topics: readonly string[] }) {
    this.size = history.size;
    this.topics = history.topics;
  }

  /** Does this topic keep history (and so get positions)? */
  keeps(topic: string): boolean {
    let keeps = this.cache.get(topic);
    if (keeps === undefined) {
      keeps = this.size > 0 && this.topics.some((p) => matches(p, topic));
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(topic, keeps);
    }
    return keeps;
  }

  /** Does every topic this pattern can match keep history (so what it missed can be read back completely)? */
  covers(pattern: string): boolean {
    return this.size > 0 && this.topics.some((h) => covers(h, pattern));
  }
}
