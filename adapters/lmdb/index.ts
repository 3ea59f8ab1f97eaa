/**
 * `herald/adapters/lmdb`: a durable HistoryStore in an embedded LMDB database (lmdb-js, prebuilt
 * binaries, no service to run). Give it to the memory adapter: `memoryAdapter({ store: lmdbHistory({ dir }) })`,
 * or to a bus shared by in-process brokers: `createMemoryBus({ store })`.
 *
 * Layout (docs/architecture.md, "Durable history"): three named databases in one environment.
 * `store` holds the store's epoch and generation counter; `topics` one record per topic (epoch,
 * latest offset, oldest kept offset, sequence); `publications` one entry per kept publication,
 * keyed [topic, offset], valued `at | sequence | origin | msgpack(data)`. A publish writes its entry
 * and its topic record in the same transaction, so the two never disagree after a crash.
 *
 * Offsets are handed out from memory (a topic's record is cached), so publish order is call order.
 * Every write of one event-loop turn goes into one transaction (group commit), and a publication
 * resolves once its transaction is committed (`durability: 'commit'`) or also flushed to disk
 * (`'flush'`). Reads return only what was acknowledged. In 'commit' mode the turn's transaction is
 * committed synchronously on the main thread at the end of the turn (setImmediate); in 'flush' mode
 * lmdb-js's write thread commits and fsyncs it (see `write`).
 */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { Unpackr } from 'msgpackr';
import { HeraldError, SetupError, type HistoryBounds, type HistoryQuery, type HistoryResult, type HistoryStore, type HistoryStoreStats, msgpackCodec, msgpackOptions, Publication } from '../../core/plugin.js';

export type Durability = 'commit' | 'flush';

export interface LmdbHistoryOptions {
  /** The data directory; created when missing. One broker process per directory (a lock file says whose). */
  dir: string;
  /**
   * When a publish is acknowledged. 'commit' (default): its transaction is committed to the
   * operating system (written, not fsynced: LMDB noSync), so it survives the process dying (kill -9,
   * OOM, crash); the store fsyncs every `syncInterval` in the background, as JetStream's file store
   * does by default. A power loss or kernel crash can take what was acknowledged since the last sync
   * (the store then starts every topic over under a new epoch), and LMDB warns that without write
   * ordering in the file system such a crash can damage the file. 'flush': each group commit is also
   * fsynced before its publishes are acknowledged, so they survive a power loss; each waits for the disk.
   */
  durability?: Durability;
  /** Milliseconds between background fsyncs in 'commit' mode (default 1000). */
  syncInterval?: number;
  /** Clock in epoch milliseconds (tests inject one). */
  now?: () => number;
}

/** A topic's cached record: positions, and the age and size of each kept publication (oldest first). */
interface TopicState {
  epoch: string;
  /** Latest offset handed out. */
  offset: number;
  /** Latest offset acknowledged: what reads show. */
  stored: number;
  /** Offset of the oldest kept publication (offset + 1 when none). */
  first: number;
  /** Sequence of the latest publication (the store-wide order). */
  sequence: number;
  /** Write time and entry bytes of publications first..offset. */
  ats: number[];
  sizes: number[];
  head: number;
  /** A write of the topic's record is queued for this turn. */
  recordQueued?: boolean;
}

interface TopicRecord {
  e: string;
  o: number;
  f: number;
  s: number;
}

interface StoreRecord {
  epoch: string;
  generation: number;
  /** The machine's boot id when the store was last opened, whether it was closed since, and in which mode it ran. */
  boot?: string;
  clean?: boolean;
  durability?: Durability;
}

type EntryKey = [string, number];

/** The store cannot open its directory (not creatable, not writable, held by another process...). */
export class StoreOpenError extends SetupError {
  constructor(message: string) {
    super('history_dir', message);
  }
}

/**
 * lmdb-js (3.x) starts each event-turn batch with a write of its own whose promise nobody holds: when
 * the commit fails (full disk) it rejects unhandled, which would crash the process. While a store is
 * open this listener drops exactly those (every caller-visible promise of the same commit is handled
 * in append()); any other unhandled rejection is rethrown, crashing as it would without it.
 */
function onUnhandledRejection(reason: unknown): void {
  const commitError = (reason as { commitError?: unknown } | null)?.commitError;
  if (reason instanceof Error && commitError instanceof Promise && reason.message.startsWith('Commit failed')) {
    commitError.catch(() => undefined);
    return;
  }
  throw reason;
}
let guarded = 0;

function guard(on: boolean): void {
  if (on && guarded++ === 0) process.on('unhandledRejection', onUnhandledRejection);
  if (!on && --guarded === 0) process.off('unhandledRejection', onUnhandledRejection);
}

/** One write of a turn's transaction: a put, or a removal when `value` is undefined. */
interface PendingWrite {
  db: Database<any, any>;
  key: unknown;
  value: unknown;
}

/** Directories opened by this process: a second store on one is refused like one of another process. */
const openDirs = new Set<string>();

export class LmdbHistoryStore implements HistoryStore {
  readonly name = 'lmdb';
  readonly dir: string;
  readonly durability: Durability;
  private readonly now: () => number;
  private readonly syncInterval: number;
  private syncer: NodeJS.Timeout | undefined;
  private env: RootDatabase | undefined;
  private info!: Database<StoreRecord, string>;
  private records!: Database<TopicRecord, string>;
  private entries!: Database<Buffer, EntryKey>;
  /** The same entries, read as what a replay needs (see storedEntryEncoding). */
  private replayed!: Database<StoredEntry, EntryKey>;
  private bounds!: HistoryBounds;
  private record!: StoreRecord;
  /** Topics with publications, least recently published first (Map order), for maxTopics. */
  private readonly topics = new Map<string, TopicState>();
  /** Entry bytes of every publication kept, held under maxBytes. */
  private bytes = 0;
  private sequence = 0;
  private opened = 0;
  private opening: Promise<void> | undefined;
  /** 'commit' mode: this turn's writes, and the promise their transaction settles. */
  private turn: PendingWrite[] = [];
  private turnCommitted: Promise<void> | undefined;
  private settleTurn: ((error?: unknown) => void) | undefined;

  constructor(options: LmdbHistoryOptions) {
    this.dir = resolve(options.dir);
    this.durability = options.durability ?? 'commit';
    this.now = options.now ?? Date.now;
    this.syncInterval = options.syncInterval ?? 1000;
  }

  async open(bounds: HistoryBounds): Promise<void> {
    if (this.opened++ > 0) return this.opening;
    this.bounds = bounds;
    this.opening = this.load();
    try {
      await this.opening;
    } catch (err) {
      this.opened = 0;
      await this.env?.close().catch(() => undefined);
      this.env = undefined;
      this.release();
      throw err;
    }
  }

  private async load(): Promise<void> {
    const dir = this.dir;
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
    } catch (err) {
      throw new StoreOpenError(`history directory ${dir} is not usable: ${(err as Error).message}`);
    }
    this.lock();
    let env: RootDatabase;
    try {
      const { open } = await import('lmdb');
      env = open({
        path: dir, maxDbs: 4, compression: false,
        // flush: lmdb-js's overlapping sync commits, then fsyncs off the writer lock; append() awaits both.
        ...(this.durability === 'flush' ? { overlappingSync: process.platform !== 'win32' } : { noSync: true, overlappingSync: false }),
      });
    } catch (err) {
      throw new StoreOpenError(`history directory ${dir} could not be opened: ${(err as Error).message}`);
    }
    this.env = env;
    this.info = env.openDB<StoreRecord, string>({ name: 'store' });
    this.records = env.openDB<TopicRecord, string>({ name: 'topics' });
    this.entries = env.openDB<Buffer, EntryKey>({ name: 'publications', encoding: 'binary' });
    // lmdb-js's typings leave out the per-database `encoder` it takes.
    this.replayed = env.openDB<StoredEntry, EntryKey>({ name: 'publications', encoder: storedEntryEncoding } as { name: string });
    const found = this.info.get('store');
    this.record = found ?? { epoch: randomBytes(4).toString('hex'), generation: 0 };
    const boot = bootId();
    // Committed but not yet flushed transactions are lost when the machine (not just the process)
    // went down: LMDB then opens at its last flushed state, and offsets would be handed out again
    // under epochs clients hold. A store not closed cleanly under another boot starts every topic over.
    const rolledBack = found !== undefined && found.clean !== true && found.durability !== 'flush' && (boot === '' || found.boot !== boot);
    const loaded: [string, TopicState][] = [];
    for (const { key, value } of this.records.getRange()) {
      const t: TopicState = { epoch: value.e, offset: value.o, stored: value.o, first: value.f, sequence: value.s, ats: [], sizes: [], head: 0 };
      loaded.push([key, t]);
      if (t.sequence > this.sequence) this.sequence = t.sequence;
    }
    const byTopic = new Map(loaded);
    // Rebuild ages and sizes; drop what no record covers (a topic dropped before a crash finished removing it).
    let expect: { topic: string; t: TopicState; next: number } | undefined;
    for (const { key, value } of this.entries.getRange()) {
      const [topic, offset] = key;
      const t = byTopic.get(topic);
      if (t === undefined || offset < t.first || offset > t.offset) {
        background(this.write(this.entries, key, undefined));
        continue;
      }
      if (expect?.t !== t) expect = { topic, t, next: t.first };
      if (offset !== expect.next) {
        // A hole (a write that failed): keep only what follows it, so no resume spans it.
        t.first = offset;
        t.ats = [];
        t.sizes = [];
      }
      t.ats.push(value.readDoubleLE(0));
      t.sizes.push(value.length);
      expect.next = offset + 1;
    }
    for (const t of byTopic.values()) {
      if (t.ats.length !== t.offset - t.first + 1) { t.first = t.offset + 1; t.ats = []; t.sizes = []; }
    }
    if (rolledBack) {
      this.record.generation++;
      for (const [topic, t] of loaded) {
        t.epoch = this.currentEpoch();
        background(this.write(this.records, topic, recordOf(t)));
      }
    }
    this.record = { ...this.record, boot, clean: false, durability: this.durability };
    await this.write(this.info, 'store', this.record);
    loaded.sort((a, b) => a[1].sequence - b[1].sequence);
    for (const [topic, t] of loaded) {
      this.topics.set(topic, t);
      for (let i = 0; i < t.sizes.length; i++) this.bytes += t.sizes[i]!;
    }
    if (this.durability === 'commit') {
      this.syncer = setInterval(() => syncOf(env)(() => undefined), this.syncInterval);
      this.syncer.unref();
    }
    // Bounds may have shrunk since the last run: apply them now rather than at the first publish.
    this.sweep();
    this.enforceBudget(undefined);
  }

  private get lockFile(): string {
    return join(this.dir, 'herald.lock');
  }

  /** One process per directory: LMDB would let two share it, but each hands out offsets from its own cache. */
  private lock(): void {
    if (openDirs.has(this.dir)) throw new StoreOpenError(`history directory ${this.dir} is already open in this process`);
    let holder = '';
    try {
      holder = readFileSync(this.lockFile, 'utf8').trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const pid = Number(holder.split(' ')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processIdentity(pid) === holder) {
      throw new StoreOpenError(`history directory ${this.dir} is in use by process ${pid} (${this.lockFile})`);
    }
    writeFileSync(this.lockFile, processIdentity(process.pid));
    openDirs.add(this.dir);
    guard(true);
  }

  private release(): void {
    if (!openDirs.delete(this.dir)) return;
    guard(false);
    rmSync(this.lockFile, { force: true });
  }

  async close(): Promise<void> {
    if (this.opened === 0 || --this.opened > 0) return;
    await this.opening?.catch(() => undefined);
    const env = this.env;
    this.env = undefined;
    this.topics.clear();
    this.bytes = 0;
    if (this.syncer !== undefined) clearInterval(this.syncer);
    if (env !== undefined) {
      await this.write(this.info, 'store', { ...this.record, clean: true }).catch(() => undefined);
      // Written to disk before the clean mark counts: a power loss after a clean stop loses nothing.
      await new Promise<void>((resolve) => syncOf(env)(() => resolve()));
      await env.close();
    }
    this.release();
  }

  private get ready(): RootDatabase {
    if (this.env === undefined) throw new HeraldError('internal', 'history store used before open() or after close()');
    return this.env;
  }

  async append(topic: string, data: unknown, origin: string): Promise<Publication> {
    this.ready;
    const now = this.now();
    const t = this.published(topic);
    const offset = ++t.offset;
    const sequence = ++this.sequence;
    t.sequence = sequence;
    const value = entryBytes(now, sequence, origin, data);
    t.ats.push(now);
    t.sizes.push(value.length);
    this.bytes += value.length;
    const written = this.write(this.entries, [topic, offset], value);
    this.trim(topic, t, now);
    this.enforceBudget(t);
    this.queueRecord(topic, t);
    try {
      await written;
      if (this.durability === 'flush') await this.ready.flushed;
    } catch (err) {
      this.failed(topic, t, offset);
      throw new HeraldError('unavailable', `history could not be written (${await causeOf(err)}); nothing was published, retry later`);
    }
    if (offset > t.stored) t.stored = offset;
    return new Publication(topic, data, offset, t.epoch, origin, sequence);
  }

  /**
   * Queues a write (a removal when `value` is undefined) in this turn's transaction and resolves once
   * that is committed. 'flush': lmdb-js batches the turn's writes on its write thread, which commits
   * and fsyncs them. 'commit': the turn's writes are committed here, synchronously, once the turn's I/O
   * callbacks ran (setImmediate): an acknowledgement then waits for no hand-off to lmdb-js's write
   * thread and back, which was most of its cost (at bursts of 16, 0.59× memory before; see
   * docs/benchmarks.md, "History"). The commit is a write() to the OS (noSync), tens of microseconds.
   */
  private write(db: Database<any, any>, key: unknown, value: unknown): Promise<unknown> {
    if (this.durability === 'flush') return value === undefined ? db.remove(key) : db.put(key, value);
    this.turn.push({ db, key, value });
    if (this.turnCommitted === undefined) {
      this.turnCommitted = new Promise<void>((resolve, reject) => { this.settleTurn = (error) => (error === undefined ? resolve() : reject(error)); });
      setImmediate(() => this.commitTurn());
    }
    return this.turnCommitted;
  }

  private commitTurn(): void {
    const writes = this.turn;
    const settle = this.settleTurn!;
    this.turn = [];
    this.turnCommitted = undefined;
    this.settleTurn = undefined;
    try {
      this.info.transactionSync(() => {
        for (const w of writes) {
          if (w.value === undefined) w.db.removeSync(w.key);
          else w.db.putSync(w.key, w.value);
        }
      });
      settle();
    } catch (err) {
      settle(err);
    }
  }

  /**
   * Writes the topic's record once per turn, after every publish of the turn: a microtask still runs
   * before lmdb-js commits the turn's batch, so entries and record stay in one transaction.
   */
  private queueRecord(topic: string, t: TopicState): void {
    if (t.recordQueued) return;
    t.recordQueued = true;
    queueMicrotask(() => {
      t.recordQueued = false;
      if (this.env !== undefined && this.topics.get(topic) === t) background(this.write(this.records, topic, recordOf(t)));
    });
  }

  /**
   * A write failed (full disk...): what this topic handed out since its last acknowledged offset may
   * not be on disk, so the topic starts a new epoch after everything handed out; positions from
   * before then resume as recovered:false.
   */
  private failed(topic: string, t: TopicState, offset: number): void {
    if (offset < t.first || this.topics.get(topic) !== t) return;
    this.record.generation++;
    t.epoch = this.currentEpoch();
    this.dropUpTo(topic, t, t.offset);
    t.stored = t.offset;
    background(this.write(this.records, topic, recordOf(t)));
    background(this.write(this.info, 'store', this.record));
  }

  async read(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    this.ready;
    const t = this.topics.get(topic);
    // A topic without state answers from a throwaway one: asking never makes the store hold anything.
    if (t === undefined) {
      const epoch = this.currentEpoch();
      return { publications: [], position: { offset: 0, epoch }, recovered: query.since?.epoch === epoch && query.since.offset === 0 };
    }
    this.trim(topic, t, this.now());
    const position = { offset: t.stored, epoch: t.epoch };
    const { since } = query;
    let from: number;
    let count: number;
    if (since !== undefined) {
      if (since.epoch !== t.epoch || since.offset > t.stored) return { publications: [], position, recovered: false };
      // Kept offsets are contiguous, so nothing is lost when the next one after `since` is still kept.
      if (since.offset + 1 < t.first) return { publications: [], position, recovered: false };
      from = since.offset + 1;
      count = t.stored - since.offset;
    } else {
      const kept = Math.max(0, t.stored - t.first + 1);
      count = Math.min(query.limit ?? kept, kept);
      from = t.stored - count + 1;
    }
    const limited = query.limit !== undefined && count > query.limit;
    const wanted = limited ? query.limit! : count;
    const publications = wanted === 0 ? [] : this.fetch(topic, t, from, wanted);
    const complete = publications.length === wanted;
    return { publications, position, recovered: since !== undefined && !limited && complete };
  }

  /** Reads `count` publications from `from`, stopping at a hole (never expected: the load removes them). */
  private fetch(topic: string, t: TopicState, from: number, count: number): Publication[] {
    const out: Publication[] = [];
    for (const { key, value } of this.replayed.getRange({ start: [topic, from], end: [topic, from + count] })) {
      if (key[1] !== from + out.length) break;
      out.push(new Publication(topic, value.data, key[1], t.epoch, value.origin, value.sequence));
    }
    return out;
  }

  /** The state of a topic being published, made the most recently published (evicting past maxTopics). */
  private published(topic: string): TopicState {
    let t = this.topics.get(topic);
    if (t !== undefined) {
      this.topics.delete(topic);
      this.topics.set(topic, t);
      return t;
    }
    if (this.topics.size >= this.bounds.maxTopics) this.drop(this.topics.keys().next().value!);
    // A first publish starts at the epoch reads of the stateless topic reported.
    t = { epoch: this.currentEpoch(), offset: 0, stored: 0, first: 1, sequence: 0, ats: [], sizes: [], head: 0 };
    this.topics.set(topic, t);
    return t;
  }

  /**
   * Forgets a topic. The generation moves on (written in the same transaction as the removal), so
   * the topic never starts over under an epoch its earlier offsets were given.
   */
  private drop(topic: string): void {
    const t = this.topics.get(topic);
    if (t === undefined) return;
    this.dropUpTo(topic, t, t.offset);
    this.topics.delete(topic);
    background(this.write(this.records, topic, undefined));
    this.record.generation++;
    background(this.write(this.info, 'store', this.record));
  }

  private currentEpoch(): string {
    return `${this.record.epoch}-${this.record.generation.toString(36)}`;
  }

  /**
   * Over maxBytes, the least recently published topics lose their oldest publications, then their
   * state; the topic just appended to keeps its offsets even when one publication outweighs the budget.
   */
  private enforceBudget(appended: TopicState | undefined): void {
    while (this.bytes > this.bounds.maxBytes && this.topics.size > 0) {
      const [topic, t] = this.topics.entries().next().value!;
      if (t.first <= t.offset) {
        this.dropUpTo(topic, t, t.first);
        background(this.write(this.records, topic, recordOf(t)));
      }
      if (t.first > t.offset) {
        if (t === appended) break;
        this.drop(topic);
      }
    }
  }

  /** Drops what is over `size` or older than `ttl`. */
  private trim(topic: string, t: TopicState, now: number): void {
    const { size, ttl } = this.bounds;
    let upTo = t.first - 1;
    const kept = t.offset - t.first + 1;
    if (kept > size) upTo = t.offset - size;
    for (let i = t.head + (upTo - t.first + 1); i < t.ats.length && now - t.ats[i]! > ttl; i++) upTo++;
    if (upTo >= t.first) {
      this.dropUpTo(topic, t, upTo);
      background(this.write(this.records, topic, recordOf(t)));
    }
  }

  /** Removes the kept publications of `topic` up to offset `upTo`. */
  private dropUpTo(topic: string, t: TopicState, upTo: number): void {
    for (let o = t.first; o <= upTo; o++) background(this.write(this.entries, [topic, o], undefined));
    const n = Math.min(upTo - t.first + 1, t.ats.length - t.head);
    for (let i = t.head; i < t.head + n; i++) this.bytes -= t.sizes[i]!;
    t.head += n;
    t.first = upTo + 1;
    if (t.head > 32 && t.head * 2 > t.ats.length) {
      t.ats = t.ats.slice(t.head);
      t.sizes = t.sizes.slice(t.head);
      t.head = 0;
    }
  }

  /** Drops expired publications of every topic, and the topics left with nothing: their pages are freed for reuse. */
  sweep(): void {
    if (this.env === undefined) return;
    const now = this.now();
    for (const [topic, t] of this.topics) {
      this.trim(topic, t, now);
      // Only once every write of the topic was acknowledged: a pending one still needs its state.
      if (t.first > t.offset && t.stored === t.offset) this.drop(topic);
    }
  }

  stats(): HistoryStoreStats {
    return { topics: this.topics.size, publications: [...this.topics.values()].reduce((n, t) => n + t.offset - t.first + 1, 0), bytes: this.bytes };
  }
}

/**
 * lmdb-js rejects a failed commit's writes with a generic error whose `commitError` promise rejects
 * with the cause (EIO, ENOSPC...): handled here, or it would be an unhandled rejection (a crash).
 */
async function causeOf(err: unknown): Promise<string> {
  const commitError = (err as { commitError?: Promise<unknown> }).commitError;
  if (commitError === undefined) return (err as Error).message;
  return commitError.then(() => (err as Error).message, (cause: unknown) => (cause as Error).message ?? String(cause));
}

/**
 * A write whose outcome is awaited through another of its transaction (the publication's record)
 * or does not matter alone (a removal retried by the next load): its failure must not go unhandled.
 */
function background(write: Promise<unknown>): void {
  write.catch((err: unknown) => void causeOf(err));
}

function recordOf(t: TopicState): TopicRecord {
  return { e: t.epoch, o: t.offset, f: t.first, s: t.sequence };
}

const HEADER = 17;

/** `at` (float64) | sequence (float64) | origin length (uint8) | origin | msgpack(data). */
function entryBytes(at: number, sequence: number, origin: string, data: unknown): Buffer {
  const packed = msgpackCodec.encode(data) as Buffer;
  const originLength = Buffer.byteLength(origin);
  const out = Buffer.allocUnsafe(HEADER + originLength + packed.length);
  out.writeDoubleLE(at, 0);
  out.writeDoubleLE(sequence, 8);
  out.writeUInt8(originLength, 16);
  out.write(origin, HEADER, 'latin1');
  packed.copy(out, HEADER + originLength);
  return out;
}

/** What a replay reads of an entry: the header's sequence and origin, and the data. */
interface StoredEntry {
  sequence: number;
  origin: string;
  data: unknown;
}

/**
 * Decodes an entry straight from lmdb-js's shared read buffer (the decoder gets it uncopied, as its
 * encoder does not ask for a stable buffer), rather than from a Buffer copied for every entry first:
 * a replay of 10,000 took about 8 ms of CPU instead of 13–27 ms in-process (and cold, as a replay
 * usually is, the difference was larger). Writes go through the binary handle; this one only reads.
 */
// msgpackCodec's decoding, but byte strings are copied out: the shared buffer is reused by the next read.
const replayUnpackr = new Unpackr({ ...msgpackOptions, copyBuffers: true });

const storedEntryEncoding = {
  encode(value: Buffer): Buffer {
    return value;
  },
  decode(bytes: Buffer, end: number): StoredEntry {
    const originLength = bytes[16]!;
    return {
      sequence: bytes.readDoubleLE(8),
      origin: bytes.toString('latin1', HEADER, HEADER + originLength),
      data: replayUnpackr.unpack(bytes.subarray(HEADER + originLength, end)),
    };
  },
};

/**
 * "<pid> <start time>" of a live process ('' when none): the start time (Linux /proc) tells a stale
 * lock from a live one even when the pid was reused, as in a restarted container.
 */
/** lmdb-js's `sync(callback)` (mdb_env_sync off the main thread), which its typings leave out. */
function syncOf(env: RootDatabase): (done: (error?: unknown) => void) => void {
  const withSync = env as unknown as { sync(done: (error?: unknown) => void): void };
  return (done) => withSync.sync(done);
}

/** This boot of the machine (Linux); '' elsewhere, where an unclean close is then always suspect. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

function processIdentity(pid: number): string {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return '';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return String(pid);
  }
}

/** A durable history store in `dir`; see LmdbHistoryOptions for the durability modes. */
export function lmdbHistory(options: LmdbHistoryOptions): HistoryStore {
  return new LmdbHistoryStore(options);
}
