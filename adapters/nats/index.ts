/**
 * The NATS cluster adapter (`herald/adapters/nats`): broker nodes sharing a NATS server or cluster
 * and a subject prefix act as one Herald cluster. Live publications travel on core NATS, only to
 * nodes with interest; history (and so recovery on any node) lives in JetStream; presence is
 * replicated between nodes with heartbeats. docs/cluster-nats.md describes the design.
 *
 * Failure behaviour: the connection reconnects forever and nats.js restores every subscription.
 * While NATS is unreachable the broker keeps delivering locally; publications cannot reach other
 * nodes then, and each one is counted (stats().lostPublications) and logged, never queued without
 * bound and never thrown at the publisher.
 */
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { AdapterNode, ClusterAdapter, ClusterAdapterStats, HistoryQuery, HistoryResult } from '../../core/contracts.js';
import { HeraldError } from '../../core/errors.js';
import type { Position, PresenceEntry } from '../../core/protocol.js';
import { matches } from '../../core/topic.js';
import { pack, type LiveEnvelope } from './envelope.js';
import { StreamHistory } from './history.js';
import { Interest } from './interest.js';
import { resolveNatsOptions, type NatsAdapterOptions, type ResolvedNatsOptions } from './options.js';
import { ClusterPresence } from './presence.js';
import { Subjects } from './subjects.js';

export { parseServers, type NatsAdapterOptions } from './options.js';
export { Subjects } from './subjects.js';

/** Counters of one adapter: the contract's cluster health, plus what it handed to the broker. */
export interface NatsAdapterStats extends ClusterAdapterStats {
  delivered: number;
}

/** Loss is logged at most this often (plus a summary when NATS comes back). */
const LOSS_LOG_INTERVAL_MS = 5000;

const timeout = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());

export class NatsAdapter implements ClusterAdapter {
  readonly name = 'nats';
  readonly options: ResolvedNatsOptions;
  readonly subjects: Subjects;
  private node: AdapterNode | undefined;
  private logger: Logger | undefined;
  private nc: NatsConnection | undefined;
  private store: StreamHistory | undefined;
  private interest: Interest | undefined;
  private presenceReplica: ClusterPresence | undefined;
  private connected = false;
  private closed = false;
  /** A random token per start: receivers key their duplicate filter by it. */
  private readonly incarnation = randomBytes(6).toString('hex');
  private sent = 0;
  private stored = 0;
  private pruneTimer: NodeJS.Timeout | undefined;
  private readonly counters = { lostPublications: 0, unstoredPublications: 0, disconnects: 0, reconnects: 0 };
  private outage: { since: number; lost: number } | undefined;
  private lastLossLog = 0;
  private readonly historyCache = new Map<string, boolean>();

  constructor(options: NatsAdapterOptions = {}) {
    this.options = resolveNatsOptions(options);
    this.subjects = new Subjects(this.options.prefix, this.options.stream);
  }

  private get self(): AdapterNode {
    if (this.node === undefined || this.closed) throw new HeraldError('internal', 'nats adapter used before start() or after close()');
    return this.node;
  }

  async start(node: AdapterNode): Promise<void> {
    if (this.node !== undefined) throw new Error('nats adapter: start() called twice');
    this.node = node;
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
        // Our own publications never come back to us (the node id check below is a second guard).
        noEcho: true,
        ...o.connection,
      });
    } catch (err) {
      throw new Error(`nats adapter: cannot connect to ${o.servers.join(', ')}: ${(err as Error).message}`, { cause: err });
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
          throw new Error(`nats adapter: cannot set up the JetStream history stream ${this.subjects.stream} ` +
            `(is JetStream enabled? nats-server -js; or set history.size to 0): ${(err as Error).message}`, { cause: err });
        }
      }
      this.interest = new Interest(nc, this.subjects, node.id, logger, (pub) => node.deliver(pub));
      const presenceEvent = (kind: 'join' | 'leave', topic: string, entry: PresenceEntry) => {
        try { node.presenceEvent(kind, topic, entry); } catch (err) { logger.error({ err, topic }, 'local presence push failed'); }
      };
      this.presenceReplica = new ClusterPresence(nc, this.subjects, node.id, logger, presenceEvent,
        { heartbeatMs: o.heartbeatMs, nodeTimeoutMs: o.nodeTimeoutMs, requestTimeoutMs: o.requestTimeoutMs }, () => this.connected);
      await this.presenceReplica.start();
    } catch (err) {
      this.closed = true;
      await nc.close().catch(() => undefined);
      throw err;
    }
    this.pruneTimer = setInterval(() => this.interest?.prune(), 60_000);
    this.pruneTimer.unref();
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
            logger.warn({ server: s.server }, 'NATS connection lost; reconnecting (local delivery continues, publications stay on this node)');
            break;
          case 'reconnect': {
            this.connected = true;
            this.counters.reconnects++;
            const outage = this.outage;
            this.outage = undefined;
            const downMs = outage ? Date.now() - outage.since : 0;
            logger.info({ server: s.server, downMs, lostPublications: outage?.lost ?? 0, subscriptions: this.interest?.patterns.length ?? 0 },
              'NATS reconnected; subscriptions restored');
            if (outage && outage.lost > 0) {
              logger.warn({ lost: outage.lost, downMs }, 'publications made here while NATS was unreachable did not reach other nodes ' +
                '(and theirs did not reach this one); clients recover stored ones by resubscribing with since');
            }
            this.presenceReplica?.reconnected();
            void this.store?.check();
            // Other nodes' publications of the outage never reached this node's subscribers.
            this.node?.missed(this.interest?.patterns ?? []);
            break;
          }
          case 'error':
            logger.warn({ err: s.error }, 'NATS server error');
            break;
          case 'slowConsumer':
            logger.warn({ subject: s.sub.getSubject(), pending: s.pending }, 'NATS slow consumer: messages dropped by the client');
            this.node?.missed(this.interest?.patternOf(s.sub) ?? []);
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
    const c = this.interest?.counts;
    return {
      connected: this.connected, ...this.counters,
      received: c?.received ?? 0, delivered: c?.delivered ?? 0, duplicates: c?.duplicates ?? 0,
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

  private keepsHistory(topic: string): boolean {
    if (this.store === undefined) return false;
    let keeps = this.historyCache.get(topic);
    if (keeps === undefined) {
      keeps = this.self.history.topics.some((p) => matches(p, topic));
      if (this.historyCache.size >= 10_000) this.historyCache.clear();
      this.historyCache.set(topic, keeps);
    }
    return keeps;
  }

  private lose(topic: string, why: string): void {
    this.counters.lostPublications++;
    if (this.outage) this.outage.lost++;
    const now = Date.now();
    if (now - this.lastLossLog >= LOSS_LOG_INTERVAL_MS) {
      this.lastLossLog = now;
      this.logger!.warn({ topic, why, lostPublications: this.counters.lostPublications }, 'publication delivered on this node only: it could not reach other nodes');
    }
  }

  async publish(topic: string, data: unknown): Promise<Position | undefined> {
    const node = this.self;
    if (!this.connected) {
      this.lose(topic, 'NATS unreachable');
      return undefined;
    }
    let position: Position | undefined;
    if (this.keepsHistory(topic)) {
      try {
        position = await this.store!.append(topic, node.id, data, `${this.incarnation}-${++this.stored}`, () => this.connected);
      } catch (err) {
        if (!this.connected) {
          this.lose(topic, 'NATS unreachable');
          return undefined;
        }
        this.counters.unstoredPublications++;
        this.logger!.warn({ err, topic, unstoredPublications: this.counters.unstoredPublications },
          'JetStream did not confirm a publication in time: sent live without a position, it may be missing from history');
      }
      if (this.closed) return position;
    }
    const envelope: LiveEnvelope = { o: node.id, i: this.incarnation, n: ++this.sent, d: data };
    if (position !== undefined) { envelope.s = position.offset; envelope.e = position.epoch; }
    if (!this.connected) {
      this.lose(topic, 'NATS unreachable');
      return position;
    }
    try {
      this.nc!.publish(this.subjects.live(topic), pack(envelope));
    } catch (err) {
      this.lose(topic, (err as Error).message);
    }
    return position;
  }

  async subscribe(pattern: string): Promise<void> {
    this.self;
    if (!this.interest!.add(pattern) || !this.connected) return;
    // The server has the subscription once it answered a ping sent after it: only then may the broker
    // read history and promise that nothing later is missed. Bounded: NATS may go away meanwhile,
    // and nats.js re-sends the subscription when it reconnects.
    const flushed = await Promise.race([this.nc!.flush().then(() => 'ok' as const, () => 'failed' as const), timeout(this.options.requestTimeoutMs)]);
    if (flushed !== 'ok') this.logger!.warn({ pattern, flushed }, 'NATS did not confirm a subscription in time; it is re-sent on reconnect');
  }

  async unsubscribe(pattern: string): Promise<void> {
    this.self;
    this.interest!.remove(pattern);
  }

  async history(topic: string, query: HistoryQuery): Promise<HistoryResult> {
    this.self;
    if (!this.keepsHistory(topic)) throw new HeraldError('unsupported', `topic ${topic} keeps no history`);
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
  async close(): Promise<void> {
    if (this.closed || this.nc === undefined) return;
    const nc = this.nc;
    this.presenceReplica?.close();
    this.interest?.close();
    this.closed = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
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
