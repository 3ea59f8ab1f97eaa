/**
 * The NATS cluster adapter (`herald/adapters/nats`): broker nodes sharing a NATS server or cluster
 * and a subject prefix act as one Herald cluster. Live publications travel on core NATS, only to
 * nodes with interest; history (and so recovery on any node) lives in JetStream; presence is
 * replicated between nodes with heartbeats. docs/cluster-nats.md describes the design.
 *
 * Failure behaviour (docs/cluster-nats.md): the connection reconnects forever and nats.js restores
 * every subscription. While NATS is unreachable, publications wait in a bounded outbox (outbox.ts)
 * and are acknowledged once stored and sent; past the bound they are refused with `unavailable`.
 * When the link is back, what this node's subscribers missed is read back from JetStream and
 * delivered in order (core/cluster/gap-repair.ts, run by ClusterAdapterBase); only what cannot be repaired is reported to the broker, per pattern.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ClusterAdapterBase, MAX_REPAIRED, type AdapterNode, type ClusterAdapter, type ClusterAdapterStats, type ControlCommand, HeraldError, SetupError, type HistoryQuery, type HistoryResult, type NodeControlReply, type Position, type PresenceEntry, type PublishOnceResult, type RepairSource } from '../../core/plugin.js';
import { ControlChannel } from './control.js';
import { pack, type LiveEnvelope } from './envelope.js';
import { StreamHistory } from './history.js';
import { IdempotencyKeys } from './idempotency.js';
import { Interest } from './interest.js';
import { resolveNatsOptions, type NatsAdapterOptions, type ResolvedNatsOptions } from './options.js';
import { Outbox } from './outbox.js';
import { ClusterPresence } from './presence.js';
import { Subjects } from './subjects.js';

export { parseServers, type NatsAdapterOptions } from './options.js';
export { Subjects } from './subjects.js';

/** Counters of one adapter: the contract's cluster health, plus what it handed to the broker. */
export interface NatsAdapterStats extends ClusterAdapterStats {
  delivered: number;
  /** Publications waiting in the outbox for NATS, and refused with `unavailable` so far. */
  outbox: number;
  refusedPublications: number;
  /** Gap repairs run, publications they delivered, patterns they had to report as missed. */
  repairs: number;
  repairedPublications: number;
  unrepairedPatterns: number;
}

/** Loss is logged at most this often (plus a summary when NATS comes back). */
const LOSS_LOG_INTERVAL_MS = 5000;
/** Stored live copies kept until a flush confirms the server has them (re-sent after a reconnect otherwise). */
const MAX_UNCONFIRMED = 10_000;
/** At most one confirming flush this often while live copies are unconfirmed. */
const CONFIRM_INTERVAL_MS = 20;

/** send(): NATS went away before the publication was stored or sent. */
const LINK_BROKE = Symbol('link broke');

interface SentLive {
  readonly n: number;
  readonly subject: string;
  readonly bytes: Uint8Array;
}

const timeout = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());

export class NatsAdapter extends ClusterAdapterBase {
  readonly name = 'nats';
  readonly options: ResolvedNatsOptions;
  readonly subjects: Subjects;
  private logger: Logger | undefined;
  private nc: NatsConnection | undefined;
  private store: StreamHistory | undefined;
  private interest: Interest | undefined;
  private presenceReplica: ClusterPresence | undefined;
  private controlChannel: ControlChannel | undefined;
  private idempotency: IdempotencyKeys | undefined;
  private connected = false;
  private closed = false;
  /** Publish order on this node (the outbox keeps it). */
  private order = 0;
  private readonly counters = { lostPublications: 0, unstoredPublications: 0, disconnects: 0, reconnects: 0 };
  private outage: { since: number; lost: number } | undefined;
  private lastLossLog = 0;
  private readonly outbox: Outbox;
  /** True while the outbox is being sent after a reconnect: new publications queue behind it. */
  private draining = false;
  /** Publications sent directly (not through the outbox) and not yet stored or queued. */
  private readonly sending = new Set<Promise<unknown>>();
  /** Stored live copies sent but not yet confirmed by a flush (re-sent after a reconnect). */
  private unconfirmed: SentLive[] = [];
  private confirming = false;

  constructor(options: NatsAdapterOptions = {}) {
    super();
    this.options = resolveNatsOptions(options);
    this.subjects = new Subjects(this.options.prefix, this.options.stream);
    this.outbox = new Outbox({ maxBytes: this.options.outboxBytes, maxAgeMs: this.options.outboxAgeMs });
  }

  private get self(): AdapterNode {
    if (this.closed) throw new HeraldError('internal', 'nats adapter used before start() or after close()');
    return this.node;
  }

  /** Gap repair reads the JetStream stream back (ClusterAdapterBase runs it). */
  protected override repairSource(): RepairSource {
    return {
      patienceMs: this.options.publishTimeoutMs,
      connected: () => this.connected && !this.closed,
      ready: async () => { await this.nc!.flush(); },
      read: (from, epoch) => this.store!.after(from, epoch, MAX_REPAIRED),
    };
  }

  protected async connect(node: AdapterNode): Promise<void> {
    const logger = (this.logger = node.logger);
    const o = this.options;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: o.servers,
        name: `herald:${node.id}`,
        // Deliberate: a broker outlives any NATS outage, notices a dead link within about two ping
        // intervals, and retries a server every reconnectTimeWait (with jitter so nodes do not stampede).
        maxReconnectAttempts: -1,
        reconnectTimeWait: o.reconnectTimeWaitMs,
        reconnectJitter: Math.min(250, o.reconnectTimeWaitMs),
        pingInterval: o.pingIntervalMs,
        maxPingOut: 2,
        timeout: o.connectTimeoutMs,
        // Our own publications never come back to us (ClusterAdapterBase's origin check is a second guard).
        noEcho: true,
        ...o.connection,
      });
    } catch (err) {
      throw new SetupError('cluster_unreachable', `nats adapter: cannot connect to ${o.servers.join(', ')}: ${(err as Error).message}`, { cause: err });
    }
    this.nc = nc;
    this.connected = true;
    void this.watch(nc);
    try {
      if (node.history.size > 0) {
        this.store = new StreamHistory(nc, this.subjects, node.history, o, logger);
        try {
          await this.store.ensure();
        } catch (err) {
          throw new SetupError('cluster_setup', `nats adapter: cannot set up the JetStream history stream ${this.subjects.stream} ` +
            `(is JetStream enabled? nats-server -js; or set history.size to 0): ${(err as Error).message}`, { cause: err });
        }
      }
      if (this.store) {
        const now = await this.store.position();
        this.streamAt(now.seq, now.epoch);
      }
      this.interest = new Interest(nc, this.subjects, logger, (message) => this.receive(message));
      const presenceEvent = (kind: 'join' | 'leave', topic: string, entry: PresenceEntry) => this.presenceEvent(kind, topic, entry);
      this.presenceReplica = new ClusterPresence(nc, this.subjects, node.id, logger, presenceEvent,
        { heartbeatMs: o.heartbeatMs, nodeTimeoutMs: o.nodeTimeoutMs, requestTimeoutMs: o.requestTimeoutMs }, () => this.connected);
      await this.presenceReplica.start();
      this.controlChannel = new ControlChannel(nc, this.subjects.control, node, logger, o.requestTimeoutMs, () => this.presenceReplica?.peerCount ?? 0);
      this.controlChannel.start();
      this.idempotency = new IdempotencyKeys(nc, o.prefix, o, node.id);
    } catch (err) {
      this.closed = true;
      await nc.close().catch(() => undefined);
      throw err;
    }
    logger.info({ servers: o.servers, prefix: o.prefix, history: this.store ? this.subjects.stream : false }, 'nats adapter connected');
  }

  /** Follows the connection's status: the `connected` flag, logs, and what to redo after a reconnect. */
  private async watch(nc: NatsConnection): Promise<void> {
    const logger = this.logger!;
    try {
      for await (const s of nc.status()) {
        switch (s.type) {
          case 'disconnect':
            if (!this.connected) break;
            this.connected = false;
            this.counters.disconnects++;
            this.outage = { since: Date.now(), lost: 0 };
            this.linkLost();
            logger.warn({ server: s.server }, 'NATS connection lost; reconnecting (publications wait in the outbox, missed ones are repaired from history after)');
            break;
          case 'reconnect': {
            this.connected = true;
            this.counters.reconnects++;
            const outage = this.outage;
            this.outage = undefined;
            const downMs = outage ? Date.now() - outage.since : 0;
            logger.info({ server: s.server, downMs, outbox: this.outbox.size, subscriptions: this.patterns.length },
              'NATS reconnected; subscriptions restored');
            if (outage && outage.lost > 0) logger.warn({ lost: outage.lost, downMs }, 'publications refused while NATS was unreachable (outbox full or too old)');
            this.presenceReplica?.reconnected();
            void this.store?.check();
            // Stored copies the dead link may have swallowed go again first (receivers drop the ones
            // they have), then what waited in the outbox; meanwhile what this node missed is repaired.
            this.resendUnconfirmed();
            void this.drainOutbox();
            void this.linkRestored();
            break;
          }
          case 'error':
            logger.warn({ err: s.error }, 'NATS server error');
            break;
          case 'slowConsumer':
            logger.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'NATS slow consumer: messages dropped by the client; repairing from history');
            this.linkLost();
            void this.linkRestored();
            break;
          case 'staleConnection':
            logger.warn('NATS connection stale (pings unanswered); reconnecting');
            break;
          case 'ldm':
            logger.warn({ server: s.server }, 'NATS server entering lame duck mode');
            break;
          default:
            break;
        }
      }
    } catch (err) {
      logger.error({ err }, 'NATS status stream failed');
    }
    if (!this.closed) {
      this.connected = false;
      logger.error('NATS connection closed for good; this node now runs alone');
    }
  }

  /** Counters for metrics and tests. */
  stats(): NatsAdapterStats {
    const c = this.receivedCounts;
    const r = this.repairCounts;
    return {
      connected: this.connected, ...this.counters,
      received: c.received, delivered: c.delivered, duplicates: c.duplicates + r.duplicates,
      outbox: this.outbox.size, refusedPublications: this.outbox.refused,
      repairs: r.repairs, repairedPublications: r.repaired, unrepairedPatterns: r.unrepaired,
    };
  }

  /**
   * Round trip to the NATS server in milliseconds (a PING/PONG), or undefined while disconnected or
   * when no answer comes within `timeoutMs`: the lag metric, measured when scraped.
   */
  async rtt(timeoutMs = 1000): Promise<number | undefined> {
    if (!this.connected || this.nc === undefined || this.closed) return undefined;
    const r = await Promise.race([this.nc.rtt().catch(() => undefined), timeout(timeoutMs)]);
    return typeof r === 'number' ? r : undefined;
  }

  private lose(topic: string, why: string): void {
    this.counters.lostPublications++;
    if (this.outage) this.outage.lost++;
    const now = Date.now();
    if (now - this.lastLossLog >= LOSS_LOG_INTERVAL_MS) {
      this.lastLossLog = now;
      this.logger!.warn({ topic, why, lostPublications: this.counters.lostPublications }, 'publication refused: it could not reach the cluster');
    }
  }

  /**
   * Acknowledged only once the publication will reach every node: stored in JetStream (topics with
   * history) or handed to NATS. While NATS is unreachable it waits in the outbox; refused with
   * `unavailable` past the outbox bound, and then no node delivers it.
   */
  protected async doPublish(topic: string, data: unknown, history: boolean): Promise<Position | undefined> {
    this.self;
    const order = ++this.order;
    const msgID = `${this.incarnation}-${order}`;
    if (!this.connected || this.draining || this.outbox.size > 0) return this.queue(topic, data, history, msgID, order, false);
    // Tracked until it is stored or queued: after a reconnect the outbox drain (later publications
    // queue behind it) waits for it, so that one on its way when the link broke (maybe stored) goes first.
    const attempt = this.send(topic, data, history, msgID).then((sent) =>
      sent === LINK_BROKE ? { queued: this.queue(topic, data, history, msgID, order, true) } : { position: sent.position });
    this.sending.add(attempt);
    void attempt.finally(() => this.sending.delete(attempt)).catch(() => undefined);
    const result = await attempt;
    return 'queued' in result ? result.queued : result.position;
  }

  /** Into the outbox at its place in publish order; `attempted`: a store request may have reached NATS already (not refused by age). */
  private queue(topic: string, data: unknown, history: boolean, msgID: string, order: number, attempted: boolean): Promise<Position | undefined> {
    const waiting = this.outbox.add(topic, data, history, msgID, order, pack(data).length + topic.length, attempted);
    waiting.catch(() => this.lose(topic, 'NATS unreachable'));
    if (this.connected) void this.drainOutbox();
    return waiting;
  }

  /**
   * Stores (history topics) and sends one publication. LINK_BROKE: the link it started on went away
   * before it was stored (even if NATS is back already: it is not retried in place, where it could
   * be stored after publications made later); the caller keeps it (same message id) for the outbox.
   */
  private async send(topic: string, data: unknown, history: boolean, msgID: string): Promise<{ position: Position | undefined } | typeof LINK_BROKE> {
    const node = this.self;
    let position: Position | undefined;
    if (history && this.store !== undefined) {
      const link = this.counters.disconnects;
      const sameLink = (): boolean => this.connected && this.counters.disconnects === link;
      try {
        position = await this.store!.append(topic, node.id, data, msgID, sameLink);
      } catch (err) {
        if (this.closed) throw new HeraldError('unavailable', 'the adapter is closing');
        if (!sameLink()) return LINK_BROKE;
        this.counters.unstoredPublications++;
        this.logger!.warn({ err, topic, unstoredPublications: this.counters.unstoredPublications },
          'JetStream did not confirm a publication in time: refused with unavailable, not sent to other nodes');
        throw new HeraldError('unavailable', 'the history store did not confirm the publication in time: nothing was delivered, retry later');
      }
      this.stored(position);
      if (this.closed) return { position };
    } else if (!this.connected) return LINK_BROKE;
    const stamp = this.stamp();
    const envelope: LiveEnvelope = { o: stamp.origin, i: stamp.incarnation, n: stamp.n, d: data };
    if (position !== undefined) { envelope.s = position.offset; envelope.e = position.epoch; }
    const subject = this.subjects.live(topic);
    const bytes = pack(envelope);
    if (position !== undefined) {
      // Stored: a node that knows it missed it repairs it from the stream, but one whose link stayed
      // up does not know. Keep the copy until a flush confirms the server has it; after a reconnect
      // it is sent again (receivers drop copies they have, by sequence).
      if (this.unconfirmed.length >= MAX_UNCONFIRMED) this.unconfirmed.shift();
      this.unconfirmed.push({ n: envelope.n, subject, bytes });
      this.confirmSoon();
    }
    if (this.connected) this.nc!.publish(subject, bytes);
    return { position };
  }

  /** Sends the outbox, oldest first, while connected; stops (the entry back at the head) when the link breaks again. */
  private async drainOutbox(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      // Publications on their way when the link broke come first: wait until each is stored or queued.
      while (this.sending.size > 0 && this.connected && !this.closed) await Promise.allSettled([...this.sending]);
      while (this.connected && !this.closed) {
        const entry = this.outbox.shift();
        if (entry === undefined) break;
        let sent: Awaited<ReturnType<NatsAdapter['send']>>;
        try {
          sent = await this.send(entry.topic, entry.data, entry.history, entry.msgID);
        } catch (err) {
          entry.reject(err);
          continue;
        }
        if (sent === LINK_BROKE) { this.outbox.requeue(entry); break; }
        entry.resolve(sent.position);
      }
    } finally {
      this.draining = false;
    }
  }

  /** A flush round trip confirms every live copy sent before it; at most one in flight. */
  private confirmSoon(): void {
    if (this.confirming || !this.connected || this.unconfirmed.length === 0) return;
    this.confirming = true;
    const upTo = this.unconfirmed[this.unconfirmed.length - 1]!.n;
    this.nc!.flush().then(() => {
      let i = 0;
      while (i < this.unconfirmed.length && this.unconfirmed[i]!.n <= upTo) i++;
      if (i > 0) this.unconfirmed = this.unconfirmed.slice(i);
    }, () => undefined).finally(() => {
      setTimeout(() => { this.confirming = false; this.confirmSoon(); }, CONFIRM_INTERVAL_MS).unref();
    });
  }

  private resendUnconfirmed(): void {
    for (const live of this.unconfirmed) {
      try { this.nc!.publish(live.subject, live.bytes); } catch { break; }
    }
    this.confirmSoon();
  }

  /** Once per key within the window, cluster-wide, through the idempotency bucket (idempotency.ts). */
  protected async doPublishOnce(key: string, windowMs: number, publish: () => Promise<Position | undefined>): Promise<PublishOnceResult> {
    this.self;
    return this.idempotency!.once(key, windowMs, publish);
  }

  /** Runs a control command here and, through `<prefix>._c`, on every other node (control.ts). */
  async gatherControl(command: ControlCommand): Promise<NodeControlReply[]> {
    this.self;
    return this.controlChannel!.gather(command, this.connected);
  }

  /** Resolves with where a repair of this pattern may start (ClusterAdapterBase.subscribe records it). */
  protected async doSubscribe(pattern: string): Promise<number | undefined> {
    this.self;
    this.interest!.add(pattern);
    if (!this.connected) return undefined;
    // The server has the subscription once it answered a ping sent after it: only then may the broker
    // read history and promise that nothing later is missed. Bounded: NATS may go away meanwhile,
    // and nats.js re-sends the subscription when it reconnects.
    const flushed = await Promise.race([this.nc!.flush().then(() => 'ok' as const, () => 'failed' as const), timeout(this.options.requestTimeoutMs)]);
    if (flushed !== 'ok') this.logger!.warn({ pattern, flushed }, 'NATS did not confirm a subscription in time; it is re-sent on reconnect');
    // Where a repair of this pattern may start: older stored publications are not its subscribers'.
    let floor: number | undefined;
    if (flushed === 'ok' && this.store !== undefined && this.node.historyCovers(pattern)) {
      const now = await Promise.race([this.store.position().catch(() => undefined), timeout(this.options.requestTimeoutMs)]);
      if (now !== undefined && now !== 'timeout') floor = now.seq;
    }
    return floor;
  }

  protected async doUnsubscribe(pattern: string): Promise<void> {
    this.self;
    this.interest!.remove(pattern);
  }

  protected async readHistory(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    this.self;
    if (this.store === undefined) throw new HeraldError('unsupported', `topic ${topic} keeps no history`);
    // 'unsupported' rather than 'internal': a subscribe then still succeeds (live only, recovered:false).
    if (!this.connected) throw new HeraldError('unsupported', 'history is unavailable while NATS is unreachable');
    try {
      return await this.store!.read(topic, query);
    } catch (err) {
      this.logger!.warn({ err, topic }, 'JetStream history read failed');
      void this.store!.check();
      throw new HeraldError('unsupported', `history is unavailable right now: ${(err as Error).message}`);
    }
  }

  async join(topic: string, entry: PresenceEntry): Promise<void> {
    this.self;
    this.presenceReplica!.join(topic, entry);
  }

  async leave(topic: string, client: string): Promise<void> {
    this.self;
    this.presenceReplica!.leave(topic, client);
  }

  async presence(topic: string): Promise<PresenceEntry[]> {
    this.self;
    return this.presenceReplica!.list(topic);
  }

  /** Says goodbye to the other nodes (they drop this node's presence at once), then drains the connection. */
  protected async disconnect(): Promise<void> {
    if (this.closed || this.nc === undefined) return;
    const nc = this.nc;
    this.presenceReplica?.close();
    this.controlChannel?.close();
    this.interest?.close();
    this.closed = true;
    this.outbox.failAll(new HeraldError('unavailable', 'the node is shutting down before NATS came back: nothing was published'));
    // drain() flushes what is queued (the goodbye); bounded, because NATS may be unreachable.
    const drained = await Promise.race([nc.drain().then(() => 'ok' as const, () => 'failed' as const), timeout(2000)]);
    if (drained !== 'ok' && !nc.isClosed()) await nc.close().catch(() => undefined);
    this.connected = false;
  }
}

/** A NATS cluster adapter: `createBroker({ adapter: natsAdapter({ servers: 'nats://127.0.0.1:4222' }) })`. */
export function natsAdapter(options: NatsAdapterOptions = {}): NatsAdapter {
  return new NatsAdapter(options) satisfies ClusterAdapter;
}
