/**
 * History in JetStream: one stream over `<prefix>.h.>` keeps, per topic (subject), the last
 * `history.size` publications for at most `history.ttl`. A publication's offset is its stream
 * sequence, so offsets of one topic increase in the order JetStream stored them, cluster-wide, and
 * are not contiguous (other topics share the sequence). The epoch is derived from the stream's
 * creation time: a stream deleted and created again (history lost) has a new epoch.
 *
 * Recovery without contiguous offsets. JetStream only ever drops the *oldest* messages of a subject
 * (max_msgs_per_subject) or of the stream (max_age, max_msgs), never one in the middle, and Herald
 * never deletes single messages. So the kept messages of a topic are always a suffix of everything
 * published on it. Hence, for `since = {offset: X}`:
 * - message X still kept (a message of this topic) -> everything after it is kept: recovered;
 * - otherwise, nothing after X was lost when the stream's first sequence is <= X + 1 (no oldest-first
 *   removal reached past X) and the topic holds fewer than max_msgs_per_subject messages after X (the
 *   per-subject limit never had to drop one of them);
 * - anything else: recovered:false (possibly pessimistic, never wrong).
 */
import {
  DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType,
  jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type StoredMsg, type StreamConfig, type StreamInfo,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { type AdapterNode, type HistoryQuery, type HistoryResult, type Position, Publication } from '../../core/plugin.js';
import { pack, unpack, type StoredEnvelope } from './envelope.js';
import type { ResolvedNatsOptions } from './options.js';
import type { Subjects } from './subjects.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Milliseconds a publish may wait for JetStream while the previous one could not be stored. */
const UNAVAILABLE_BUDGET_MS = 500;

/** A stable, short epoch from the stream's creation timestamp (nanosecond ISO string). */
export function epochOf(created: string): string {
  const digits = created.replace(/\D/g, '');
  return digits === '' ? created : BigInt(digits).toString(36);
}

export class StreamHistory {
  private readonly nc: NatsConnection;
  private readonly subjects: Subjects;
  private readonly settings: AdapterNode['history'];
  private readonly options: ResolvedNatsOptions;
  private readonly logger: Logger;
  private readonly js: JetStreamClient;
  private jsm: JetStreamManager | undefined;
  /** Epoch of the stream as last seen; undefined until ensure() succeeded. */
  private epoch: string | undefined;
  /** Highest sequence acknowledged to this node: a lower one means the stream was recreated. */
  private lastSeq = 0;
  private checking: Promise<void> | undefined;
  /** Set when a publish could not be stored within its budget; cleared by the next stored one. */
  private storeFailing = false;
  private lastCheck = 0;

  constructor(nc: NatsConnection, subjects: Subjects, settings: AdapterNode['history'], options: ResolvedNatsOptions, logger: Logger) {
    this.nc = nc;
    this.subjects = subjects;
    this.settings = settings;
    this.options = options;
    this.logger = logger;
    this.js = jetstream(nc, { timeout: options.requestTimeoutMs });
  }

  get stream(): string {
    return this.subjects.stream;
  }

  private desired(): Partial<StreamConfig> & { name: string } {
    const { size, ttl, maxTopics } = this.settings;
    return {
      name: this.stream,
      subjects: [this.subjects.storedAll],
      retention: RetentionPolicy.Limits,
      storage: this.options.storage === 'memory' ? StorageType.Memory : StorageType.File,
      num_replicas: this.options.replicas,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: size,
      // maxTopics has no exact JetStream counterpart: bound the stream to size × maxTopics messages,
      // which drops the oldest publications first once that many topics are full.
      max_msgs: Math.min(Number.MAX_SAFE_INTEGER, size * maxTopics),
      max_age: nanos(ttl),
      // Publishes retried through a failover carry the same Nats-Msg-Id: stored once.
      duplicate_window: nanos(Math.min(ttl, 120_000)),
    };
  }

  /** Creates the stream, or brings its limits in line with this node's history settings; learns the epoch. */
  async ensure(): Promise<void> {
    this.jsm ??= await jetstreamManager(this.nc, { timeout: this.options.requestTimeoutMs });
    const want = this.desired();
    let info: StreamInfo;
    try {
      info = await this.jsm.streams.info(this.stream);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
      try {
        info = await this.jsm.streams.add(want);
        this.logger.info({ stream: this.stream, subjects: want.subjects }, 'created JetStream history stream');
      } catch (addErr) {
        // Another node created it between our info and add.
        info = await this.jsm.streams.info(this.stream).catch(() => { throw addErr; });
      }
    }
    const c = info.config;
    if (c.max_msgs_per_subject !== want.max_msgs_per_subject || c.max_age !== want.max_age || c.max_msgs !== want.max_msgs ||
        c.num_replicas !== want.num_replicas) {
      // The cluster shares one stream: the last node started with other settings wins, loudly.
      this.logger.warn({ stream: this.stream, had: { max_msgs_per_subject: c.max_msgs_per_subject, max_age: c.max_age, max_msgs: c.max_msgs, num_replicas: c.num_replicas } },
        'history stream limits differ from this node\'s history settings; updating the stream');
      info = await this.jsm.streams.update(this.stream, {
        ...c, max_msgs_per_subject: want.max_msgs_per_subject!, max_age: want.max_age!, max_msgs: want.max_msgs!,
        num_replicas: want.num_replicas!, duplicate_window: Math.min(c.duplicate_window, want.max_age!),
      });
    }
    this.noteStream(info);
  }

  private noteStream(info: StreamInfo): void {
    const epoch = epochOf(String(info.created));
    if (this.epoch !== undefined && epoch !== this.epoch) {
      this.logger.warn({ stream: this.stream, from: this.epoch, to: epoch }, 'history stream was recreated: history lost, new epoch');
      this.lastSeq = 0;
    }
    this.epoch = epoch;
  }

  /** Re-reads (or recreates) the stream after a failure, at most once a second. Never throws. */
  check(): Promise<void> {
    if (this.checking) return this.checking;
    if (Date.now() - this.lastCheck < 1000) return Promise.resolve();
    this.lastCheck = Date.now();
    this.checking = this.ensure()
      .catch((err: unknown) => this.logger.debug({ err }, 'history stream check failed'))
      .finally(() => { this.checking = undefined; });
    return this.checking;
  }

  /**
   * Stores one publication and returns its position. Retries (same Nats-Msg-Id, so stored at most
   * once) until `publishTimeoutMs` has passed, which rides out a stream leader election. Throws when
   * it could not store it in time; `sameLink` stops the retries early when the connection they
   * started on is gone (NATS unreachable, or reconnected since: the caller then queues it in publish
   * order instead of retrying it here, after publications made later).
   */
  async append(topic: string, origin: string, data: unknown, msgID: string, sameLink: () => boolean): Promise<Position> {
    const payload = pack({ o: origin, d: data } satisfies StoredEnvelope);
    // After a publish that could not be stored in time, the next ones get a short budget until one
    // succeeds: a stream that stays unavailable (an R1 stream on a dead member) must not stall every
    // publisher for the full timeout.
    const budget = this.storeFailing ? Math.min(this.options.publishTimeoutMs, UNAVAILABLE_BUDGET_MS) : this.options.publishTimeoutMs;
    const deadline = Date.now() + budget;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - Date.now();
      try {
        const ack = await this.js.publish(this.subjects.stored(topic), payload, {
          msgID, timeout: Math.max(100, Math.min(remaining, this.options.requestTimeoutMs)), retries: 0,
        });
        // A lower sequence means a recreated stream, unless it is a duplicate (a retry after a lost
        // ack answers with the original, older sequence): checking then would delay this reply behind
        // newer ones, and its live copy would go out after theirs.
        if ((ack.seq < this.lastSeq && !ack.duplicate) || this.epoch === undefined) await this.ensure();
        if (ack.seq > this.lastSeq) this.lastSeq = ack.seq;
        this.storeFailing = false;
        return { offset: ack.seq, epoch: this.epoch! };
      } catch (err) {
        if (!sameLink()) throw err;
        if (deadline - Date.now() < 150) {
          this.storeFailing = true;
          throw err;
        }
        // No stream (deleted, or a restarted single node with memory storage) -> recreate it.
        await this.check();
        await sleep(Math.min(50 * 2 ** attempt, 400, Math.max(0, deadline - Date.now() - 100)));
      }
    }
  }

  private async get(query: { seq: number; next_by_subj: string } | { last_by_subj: string }): Promise<StoredMsg | null> {
    // next_by_subj goes to the stream leader (consistent read); nats.js types only list seq/last_by_subj.
    return this.jsm!.streams.getMessage(this.stream, query as never);
  }

  private publication(topic: string, m: StoredMsg, epoch: string): Publication {
    const env = unpack<StoredEnvelope>(m.data);
    return new Publication(topic, env.d, m.seq, epoch, env.o, m.seq);
  }

  /** The stream's last sequence and epoch now (a new pattern's repair floor). */
  async position(): Promise<{ seq: number; epoch: string }> {
    this.jsm ??= await jetstreamManager(this.nc, { timeout: this.options.requestTimeoutMs });
    const info = await this.jsm.streams.info(this.stream);
    this.noteStream(info);
    return { seq: info.state.last_seq, epoch: this.epoch! };
  }

  /**
   * Gap repair: per pattern, the stored publications after `from[pattern]` (STREAM.MSG.GET with a
   * wildcard next_by_subj, on the stream leader), merged in stream order. A pattern is reported lost
   * when its publications may be incomplete: the stream is another epoch than `epoch` (recreated),
   * was trimmed past the start (age, total count), a topic holds as many messages after the start
   * as its per-subject limit (older ones may have been dropped), or there are more than `limit`.
   */
  async after(from: ReadonlyMap<string, number>, epoch: string | undefined, limit: number): Promise<{ publications: Publication[]; lost: string[] }> {
    this.jsm ??= await jetstreamManager(this.nc, { timeout: this.options.requestTimeoutMs });
    const info = await this.jsm.streams.info(this.stream);
    this.noteStream(info);
    const streamEpoch = this.epoch!;
    const patterns = [...from.keys()];
    if (epoch !== undefined && epoch !== streamEpoch) return { publications: [], lost: patterns };
    const { first_seq: firstSeq, last_seq: lastSeq } = info.state;
    const perSubject = info.config.max_msgs_per_subject > 0 ? info.config.max_msgs_per_subject : this.settings.size;
    const bySeq = new Map<number, Publication>();
    const lost: string[] = [];
    let read = 0;
    for (const [pattern, start] of from) {
      if (start >= lastSeq) continue;
      // Removed oldest-first past the start: something after it may be gone (other topics' messages
      // count too, so this can be pessimistic, never wrong).
      if (firstSeq > start + 1 && lastSeq > 0) { lost.push(pattern); continue; }
      const perTopic = new Map<string, number>();
      let seq = start + 1;
      let complete = true;
      for (;;) {
        const m = await this.get({ seq, next_by_subj: this.subjects.stored(pattern) });
        if (m === null) break;
        if (++read > limit) { complete = false; break; }
        const topic = m.subject.slice(this.subjects.prefix.length + 3);
        const count = (perTopic.get(topic) ?? 0) + 1;
        perTopic.set(topic, count);
        if (count >= perSubject) { complete = false; break; }
        if (!bySeq.has(m.seq)) bySeq.set(m.seq, this.publication(topic, m, streamEpoch));
        if (m.seq >= lastSeq) break;
        seq = m.seq + 1;
      }
      if (!complete) lost.push(pattern);
    }
    return { publications: [...bySeq.values()].sort((a, b) => a.offset! - b.offset!), lost };
  }

  async read(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    this.jsm ??= await jetstreamManager(this.nc, { timeout: this.options.requestTimeoutMs });
    const info = await this.jsm.streams.info(this.stream);
    this.noteStream(info);
    const epoch = this.epoch!;
    const { first_seq: firstSeq, last_seq: streamLast } = info.state;
    const perSubject = info.config.max_msgs_per_subject > 0 ? info.config.max_msgs_per_subject : this.settings.size;
    const subject = this.subjects.stored(topic);
    const last = await this.get({ last_by_subj: subject });
    // A topic without kept messages reports the stream's position: every later publication on it
    // gets a higher offset, and recovering from it is exact (see the rule above).
    const position: Position = { offset: last?.seq ?? streamLast, epoch };
    const { since } = query;

    if (since !== undefined) {
      if (since.epoch !== epoch || since.offset > Math.max(streamLast, position.offset)) return { publications: [], position, recovered: false };
      if (last !== null && last.seq === since.offset) return { publications: [], position, recovered: true };
      const publications: Publication[] = [];
      let anchored = false;
      let seq = Math.max(since.offset, 1);
      // At most max_msgs_per_subject messages exist for the subject; the bound guards a config race.
      for (let i = 0; i <= perSubject + 16; i++) {
        const m = await this.get({ seq, next_by_subj: subject });
        if (m === null) break;
        if (m.seq === since.offset) anchored = true;
        else publications.push(this.publication(topic, m, epoch));
        if (last !== null && m.seq >= last.seq) break;
        seq = m.seq + 1;
      }
      const recovered = anchored || (firstSeq <= since.offset + 1 && publications.length < perSubject);
      if (!recovered) return { publications: [], position, recovered: false };
      if (query.limit !== undefined && publications.length > query.limit) {
        return { publications: publications.slice(0, query.limit), position, recovered: false };
      }
      return { publications, position, recovered: true };
    }

    const limit = query.limit ?? Infinity;
    if (limit <= 0 || last === null) return { publications: [], position, recovered: false };
    const publications: Publication[] = [];
    let seq = Math.max(firstSeq, 1);
    for (let i = 0; i <= perSubject + 16; i++) {
      const m = await this.get({ seq, next_by_subj: subject });
      if (m === null) break;
      publications.push(this.publication(topic, m, epoch));
      if (m.seq >= last.seq) break;
      seq = m.seq + 1;
    }
    return { publications: publications.length > limit ? publications.slice(publications.length - limit) : publications, position, recovered: false };
  }
}
