/** One topic's bounded history: a ring of publications with contiguous offsets, trimmed by count, age and the bus's byte budget. */
import type { HistoryQuery, HistoryResult } from '../contracts.js';
import { Publication } from '../publication.js';

interface Entry {
  readonly pub: Publication;
  readonly at: number;
  /** approximateSize() of the publication, charged to the byte budget while it is kept. */
  readonly bytes: number;
}

/** What a dropped slot holds until compaction, so the publication itself can be collected at once. */
const DROPPED: Entry = { pub: new Publication('', null), at: 0, bytes: 0 };

export class TopicHistory {
  readonly epoch: string;
  /** Offset of the latest publication (0: none yet). */
  offset = 0;
  /** Bytes of the publications kept. */
  bytes = 0;
  private entries: Entry[] = [];
  private head = 0;

  constructor(epoch: string) {
    this.epoch = epoch;
  }

  /** Publications kept. */
  get length(): number {
    return this.entries.length - this.head;
  }

  /** `sequence`: the bus-wide counter, so that a replay of several topics can interleave in publish order. */
  append(topic: string, data: unknown, bytes: number, size: number, ttl: number, now: number, origin: string, sequence: number): Publication {
    const pub = new Publication(topic, data, ++this.offset, this.epoch, origin, sequence);
    this.entries.push({ pub, at: now, bytes });
    this.bytes += bytes;
    this.trim(size, ttl, now);
    return pub;
  }

  read(query: HistoryQuery, size: number, ttl: number, now: number): HistoryResult {
    this.trim(size, ttl, now);
    const position = { offset: this.offset, epoch: this.epoch };
    const live = this.length;
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

  /** Drops what is older than `ttl` (the bus's sweep calls it for idle topics). */
  expire(ttl: number, now: number): void {
    while (this.head < this.entries.length && now - this.entries[this.head]!.at > ttl) this.dropOldest();
    this.compact();
  }

  /** Drops the oldest publication kept (byte budget); a resume from before it then says recovered:false. */
  dropOldest(): void {
    if (this.head >= this.entries.length) return;
    this.bytes -= this.entries[this.head]!.bytes;
    this.entries[this.head++] = DROPPED;
    this.compact();
  }

  private trim(size: number, ttl: number, now: number): void {
    while (this.length > size) this.dropOldest();
    this.expire(ttl, now);
  }

  // Compact once the dead prefix dominates, so the array does not grow without bound.
  private compact(): void {
    if (this.head > 32 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
