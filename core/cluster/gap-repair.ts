/**
 * Gap repair, for engines whose stored publications share one cluster-wide stream sequence (the
 * NATS engine's JetStream stream; ClusterAdapterBase runs it when the engine offers a RepairSource):
 * what a node's subscribers missed while its link was down (or while the client dropped messages as
 * a slow consumer) is read back from the stream and delivered, in stream order, with no duplicate
 * against what arrives live meanwhile. Subscribers of repaired
 * patterns see no gap and are not told anything.
 *
 * - Every delivered stored publication moves the node's watermark (the highest stream sequence it
 *   handed out or stored itself) and is remembered in a window of recent sequences: a live copy of
 *   one already delivered (a repaired one, a publisher re-sending after its own reconnect, two
 *   matching subscriptions) is dropped.
 * - When the link breaks, the gap starts at the watermark, and live publications are held from then
 *   until the repair is done (so a repaired publication never follows a newer live one).
 * - When the link is back (subscriptions restored), each pattern is read from the stream after
 *   max(gap start, the stream's position when the pattern was subscribed), merged by sequence,
 *   delivered, then the held ones minus duplicates.
 * - When the link breaks again while a repair reads, what the read brought is delivered but the gap
 *   stays open (live ones stay held): the next repair reads that outage too.
 * - What cannot be repaired is reported per pattern (AdapterNode.missed): patterns that may match
 *   topics without history, a stream recreated (new epoch) or trimmed past the gap start, a topic
 *   that may have dropped messages to its per-subject limit, too much to repair or hold.
 */
import type { Logger } from 'pino';
import type { Publication } from '../publication.js';
import { matches } from '../topic.js';

/** Live publications held during one repair before the repair gives up and reports the gap. */
export const MAX_HELD = 10_000;
/** Stored publications one repair reads at most. */
export const MAX_REPAIRED = 10_000;
/** Recent delivered sequences remembered for duplicate detection. */
const SEEN_WINDOW = 20_000;
/** How far before the watermark a repair starts: live copies of concurrent publishers can arrive out of stream order. */
const OVERLAP = 64;

export interface RepairRead {
  /** Stored publications after the start, in stream order. */
  publications: Publication[];
  /** Patterns whose publications may be incomplete (lost to limits, too many, another epoch). */
  lost: string[];
}

export interface RepairDeps {
  readonly nodeId: string;
  readonly logger: Logger;
  deliver(pub: Publication): void;
  missed(patterns: string[]): void;
  connected(): boolean;
  /** The node's patterns now. */
  patterns(): string[];
  /** True when every topic the pattern can match keeps history (so a repair can be complete). */
  repairable(pattern: string): boolean;
  /** Resolves once the server has this node's subscriptions again (a flush). */
  ready(): Promise<void>;
  /** Reads, per pattern, what the stream holds after `from[pattern]`. */
  read(from: Map<string, number>, epoch: string | undefined): Promise<RepairRead>;
  /** Milliseconds a repair keeps retrying a failing read while connected before it reports the gap. */
  readonly patienceMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export class GapRepair {
  private readonly deps: RepairDeps;
  /** Highest stream sequence delivered here or stored by this node, in `epoch`. */
  watermark = 0;
  epoch: string | undefined;
  private readonly seen = new Set<number>();
  private readonly seenOrder: number[] = [];
  private seenHead = 0;
  /** Live publications waiting for the repair; undefined when none runs. */
  private held: Publication[] | undefined;
  private gapFrom: number | undefined;
  /** Per topic, the newest sequence delivered since the gap started (a repaired older one would be out of order). */
  private readonly sinceGap = new Map<string, number>();
  /** Per pattern, the stream's position when it was subscribed: older publications are not its subscribers'. */
  private readonly floors = new Map<string, number>();
  private running = false;
  private again = false;
  /** Link breaks so far: one during a run means what it read may miss that outage's publications. */
  private breaks = 0;
  readonly counts = { repairs: 0, repaired: 0, duplicates: 0, unrepaired: 0 };

  constructor(deps: RepairDeps) {
    this.deps = deps;
  }

  /** The stream's position when a stored publication was last known (start, a read, a store). */
  known(seq: number, epoch: string | undefined): void {
    if (epoch !== undefined && epoch !== this.epoch) {
      this.epoch = epoch;
      this.watermark = 0;
      this.seen.clear();
      this.seenOrder.length = 0;
      this.seenHead = 0;
    }
    if (seq > this.watermark) this.watermark = seq;
  }

  subscribed(pattern: string, position: number | undefined): void {
    this.floors.set(pattern, Math.max(position ?? 0, this.watermark));
  }

  unsubscribed(pattern: string): void {
    this.floors.delete(pattern);
  }

  /** This node stored a publication (delivered locally by the broker): never repair or re-deliver it. */
  own(seq: number, epoch: string): void {
    this.known(seq, epoch);
    this.remember(seq);
  }

  /** A live publication from another node. */
  live(pub: Publication): void {
    if (pub.offset !== undefined) {
      if (pub.epoch === this.epoch && this.seen.has(pub.offset)) {
        this.counts.duplicates++;
        return;
      }
    }
    if (this.held !== undefined) {
      if (this.held.length < MAX_HELD) {
        this.held.push(pub);
        return;
      }
      this.deps.logger.warn({ held: this.held.length }, 'too many live publications held during a gap repair: reporting the gap instead');
      this.abandon();
    }
    this.hand(pub);
  }

  /** The link broke (or messages were dropped): the gap starts at the watermark; live ones wait for the repair. */
  begin(): void {
    this.breaks++;
    this.gapFrom ??= this.watermark;
    this.held ??= [];
  }

  /** The link is back: repair (once at a time; a call during a run makes it run again). */
  async repair(): Promise<void> {
    if (this.running) { this.again = true; return; }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.run();
      } while (this.again && this.deps.connected());
    } finally {
      this.running = false;
    }
  }

  private async run(): Promise<void> {
    const gapFrom = this.gapFrom;
    if (gapFrom === undefined) { this.release(); return; }
    const breaks = this.breaks;
    const patterns = this.deps.patterns();
    const unrepairable = patterns.filter((p) => !this.deps.repairable(p));
    const from = new Map<string, number>();
    for (const p of patterns) if (this.deps.repairable(p)) from.set(p, Math.max(gapFrom - OVERLAP, this.floors.get(p) ?? 0, 0));
    let result: RepairRead = { publications: [], lost: [] };
    const deadline = Date.now() + this.deps.patienceMs;
    for (let attempt = 0; from.size > 0; attempt++) {
      try {
        await this.deps.ready();
        result = await this.deps.read(from, this.epoch);
        break;
      } catch (err) {
        // Gone again: keep holding; the next reconnect repairs from the same start.
        if (!this.deps.connected()) return;
        if (Date.now() > deadline) {
          this.deps.logger.warn({ err }, 'gap repair could not read the history stream: reporting the gap');
          result = { publications: [], lost: [...from.keys()] };
          break;
        }
        await sleep(Math.min(100 * 2 ** attempt, 1000));
        if (!this.deps.connected()) return;
      }
    }
    const lost = new Set([...unrepairable, ...result.lost]);
    const outOfOrder = new Set<string>();
    const repaired: Publication[] = [];
    for (const pub of result.publications) {
      const seq = pub.offset!;
      if (pub.origin === this.deps.nodeId || this.seen.has(seq)) continue;
      if (this.watermarkPast(pub.topic, seq)) { outOfOrder.add(pub.topic); continue; }
      if ([...lost].some((p) => matches(p, pub.topic))) continue;
      repaired.push(pub);
    }
    for (const topic of outOfOrder) for (const p of patterns) if (matches(p, topic)) lost.add(p);
    // The link broke again while this ran (the read still came through): what it read is delivered,
    // but the gap stays open and live ones stay held until the next repair reads that outage too.
    const brokeAgain = this.breaks !== breaks;
    // Lost patterns are told first: their subscriptions are dropped before anything newer reaches
    // them, so the position they resubscribe from is the one before the gap.
    if (!brokeAgain) {
      this.gapFrom = undefined;
      this.sinceGap.clear();
    }
    this.counts.repairs++;
    if (lost.size > 0) {
      this.counts.unrepaired += lost.size;
      this.deps.missed([...lost]);
    }
    for (const pub of repaired) if (!this.seen.has(pub.offset!)) { this.counts.repaired++; this.hand(pub); }
    if (brokeAgain) {
      this.again = true;
      return;
    }
    this.release();
    if (repaired.length > 0 || lost.size > 0) {
      this.deps.logger.info({ repaired: repaired.length, unrepairable: [...lost].slice(0, 20), from: gapFrom }, 'gap repaired from the history stream');
    }
  }

  /** Would delivering `seq` on `topic` now follow a newer publication of that topic delivered since the gap? */
  private watermarkPast(topic: string, seq: number): boolean {
    const newest = this.sinceGap.get(topic);
    return newest !== undefined && newest > seq;
  }

  private release(): void {
    const held = this.held;
    this.held = undefined;
    if (held === undefined) return;
    for (const pub of held) {
      if (pub.offset !== undefined && pub.epoch === this.epoch && this.seen.has(pub.offset)) { this.counts.duplicates++; continue; }
      this.hand(pub);
    }
  }

  /** Gives up on the running repair: every pattern is reported, the held publications go out. */
  private abandon(): void {
    this.gapFrom = undefined;
    this.sinceGap.clear();
    const patterns = this.deps.patterns();
    this.counts.unrepaired += patterns.length;
    this.deps.missed(patterns);
    this.release();
  }

  private hand(pub: Publication): void {
    if (pub.offset !== undefined) {
      this.known(pub.offset, pub.epoch);
      this.remember(pub.offset);
      if (this.gapFrom !== undefined) {
        const newest = this.sinceGap.get(pub.topic);
        if (newest === undefined || newest < pub.offset) this.sinceGap.set(pub.topic, pub.offset);
      }
    }
    try {
      this.deps.deliver(pub);
    } catch (err) {
      // A subscriber's failure must not take the NATS subscription (or the process) down with it.
      this.deps.logger.error({ err, topic: pub.topic }, 'local delivery of a remote publication failed');
    }
  }

  private remember(seq: number): void {
    if (this.seen.has(seq)) return;
    this.seen.add(seq);
    if (this.seenOrder.length < SEEN_WINDOW) this.seenOrder.push(seq);
    else {
      this.seen.delete(this.seenOrder[this.seenHead]!);
      this.seenOrder[this.seenHead] = seq;
      this.seenHead = (this.seenHead + 1) % SEEN_WINDOW;
    }
  }
}
