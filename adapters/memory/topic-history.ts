/** One topic's bounded history: a ring of publications with contiguous offsets, trimmed by count and age. */
import type { HistoryQuery, HistoryResult } from '../../core/contracts.js';
import { Publication } from '../../core/publication.js';

interface Entry {
  readonly pub: Publication;
  readonly at: number;
}

export class TopicHistory {
  readonly epoch: string;
  /** Offset of the latest publication (0: none yet). */
  offset = 0;
  private entries: Entry[] = [];
  private head = 0;

  constructor(epoch: string) {
    this.epoch = epoch;
  }

  /** `sequence`: the bus-wide counter, so that a replay of several topics can interleave in publish order. */
  append(topic: string, data: unknown, size: number, ttl: number, now: number, origin: string, sequence: number): Publication {
    const pub = new Publication(topic, data, ++this.offset, this.epoch, origin, sequence);
    this.entries.push({ pub, at: now });
    this.trim(size, ttl, now);
    return pub;
  }

  read(query: HistoryQuery, size: number, ttl: number, now: number): HistoryResult {
    this.trim(size, ttl, now);
    const position = { offset: this.offset, epoch: this.epoch };
    const live = this.entries.length - this.head;
    const { since } = query;
    if (since !== undefined) {
      if (since.epoch !== this.epoch || since.offset > this.offset) return { publications: [], position, recovered: false };
      const oldest = live > 0 ? this.entries[this.head]!.pub.offset! : this.offset + 1;
      // Offsets here are contiguous, so nothing is lost when the next one after `since` is still kept.
      if (since.offset + 1 < oldest) return { publications: [], position, recovered: false };
      const from = this.head + (since.offset + 1 - oldest);
      let publications = this.entries.slice(from).map((e) => e.pub);
      if (query.limit !== undefined && publications.length > query.limit) {
        publications = publications.slice(0, query.limit);
        return { publications, position, recovered: false };
      }
      return { publications, position, recovered: true };
    }
    const limit = Math.min(query.limit ?? live, live);
    return { publications: limit === 0 ? [] : this.entries.slice(this.entries.length - limit).map((e) => e.pub), position, recovered: false };
  }

  private trim(size: number, ttl: number, now: number): void {
    const entries = this.entries;
    while (entries.length - this.head > size) this.head++;
    while (this.head < entries.length && now - entries[this.head]!.at > ttl) this.head++;
    // Compact once the dead prefix dominates, so the array does not grow without bound.
    if (this.head > 32 && this.head * 2 > entries.length) {
      this.entries = entries.slice(this.head);
      this.head = 0;
    }
  }
}
