/**
 * The publish outbox: publications made while NATS is unreachable wait here, in order, and are
 * stored (JetStream, with their message id, so a retry never duplicates) and sent when NATS is back.
 * Their publishers wait for that: an acknowledgement means the publication reaches every node.
 *
 * Bounded twice: by bytes (`outboxBytes`: a publication that does not fit is refused at once) and by
 * age (`outboxAgeMs`: one still waiting that long is refused). A refused publication was never handed
 * to NATS, so no node ever delivers it: the publisher gets the retryable error `unavailable`.
 * An entry whose store request may already have reached NATS (the link broke while it was on its way)
 * is not refused by age: only NATS can say whether it was stored, so it waits for the link to resolve
 * it with the same message id (its count is bounded by the byte bound like any other).
 */
import { HeraldError, type Position } from '../../core/plugin.js';

export interface OutboxEntry {
  readonly topic: string;
  readonly data: unknown;
  /** The broker's choice: stored in JetStream (with a position) or only sent live. */
  readonly history: boolean;
  /** JetStream message id: the same on every attempt, so JetStream stores it once. */
  readonly msgID: string;
  /** Publish order on this node: the outbox keeps entries in it, whenever each was queued. */
  readonly order: number;
  readonly bytes: number;
  readonly since: number;
  /** A store request may have reached NATS: its fate is unknown until NATS answers a retry. */
  attempted: boolean;
  readonly resolve: (position: Position | undefined) => void;
  readonly reject: (err: unknown) => void;
}

export interface OutboxLimits {
  maxBytes: number;
  maxAgeMs: number;
}

export class Outbox {
  private readonly limits: OutboxLimits;
  private entries: OutboxEntry[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Publications refused with `unavailable` (metrics). */
  refused = 0;

  constructor(limits: OutboxLimits) {
    this.limits = limits;
  }

  get size(): number {
    return this.entries.length;
  }

  get queuedBytes(): number {
    return this.bytes;
  }

  /**
   * Queues a publication at its place in publish order (one that was on its way when the link broke
   * is queued after later ones that found the link down, yet goes before them); the promise settles
   * when it is stored and sent, or refused.
   */
  add(topic: string, data: unknown, history: boolean, msgID: string, order: number, bytes: number, attempted = false): Promise<Position | undefined> {
    // An attempted one may be stored already: only NATS can say, so it is never refused unheard.
    if (!attempted && this.bytes + bytes > this.limits.maxBytes) {
      this.refused++;
      return Promise.reject(new HeraldError('unavailable', `the cluster is unreachable and the publish outbox is full (${this.limits.maxBytes} bytes): nothing was published, retry later`));
    }
    return new Promise((resolve, reject) => {
      this.insert({ topic, data, history, msgID, order, bytes, since: Date.now(), attempted, resolve, reject });
    });
  }

  /** Puts an entry whose store was interrupted back at its place (the head, unless an older one came in meanwhile). */
  requeue(entry: OutboxEntry): void {
    entry.attempted = true;
    this.insert(entry);
  }

  private insert(entry: OutboxEntry): void {
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1]!.order > entry.order) i--;
    this.entries.splice(i, 0, entry);
    this.bytes += entry.bytes;
    this.arm();
  }

  /** Takes the oldest entry to send it. */
  shift(): OutboxEntry | undefined {
    const entry = this.entries.shift();
    if (entry !== undefined) this.bytes -= entry.bytes;
    if (this.entries.length === 0) this.disarm();
    return entry;
  }

  /** Refuses every entry (the adapter closes). */
  failAll(err: unknown): void {
    const entries = this.entries;
    this.entries = [];
    this.bytes = 0;
    this.disarm();
    for (const e of entries) e.reject(err);
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.expire(), Math.max(10, Math.min(250, this.limits.maxAgeMs / 4)));
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private expire(): void {
    const cutoff = Date.now() - this.limits.maxAgeMs;
    const kept: OutboxEntry[] = [];
    const expired: OutboxEntry[] = [];
    for (const e of this.entries) (e.since <= cutoff && !e.attempted ? expired : kept).push(e);
    if (expired.length === 0) return;
    this.entries = kept;
    for (const e of expired) this.bytes -= e.bytes;
    if (kept.length === 0) this.disarm();
    this.refused += expired.length;
    for (const e of expired) {
      e.reject(new HeraldError('unavailable', `the cluster stayed unreachable for ${this.limits.maxAgeMs} ms: nothing was published, retry later`));
    }
  }
}
