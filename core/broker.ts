/**
 * The broker: owns sessions, the local router, the flush list, and talks to one cluster adapter.
 * A publication flows: session or app -> adapter.publish (position, other nodes) -> local fan-out
 * through the router -> each session's outbound queue -> one write per connection per turn.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type {
  AdapterNode, BroadcastResult, BrokerApi, BrokerStats, ClusterAdapter, Connection, ControlCommand, ControlResult, DisconnectOptions, Encoder,
  Handshake, HistoryQuery, HistoryResult, Limits, NodeControlReply, NodeInfo, PresenceStats, Principal, PublishOptions, PublishResult,
  ServerSubscribeOptions, Target, TopicsResult, Transport, TransportHost,
} from './contracts.js';
import {
  broadcastVia, mergeTopics, parseDisconnect, parseIdempotencyKey, parseTarget, parseTopics, parseTopicsLimit, presenceStatsOf, reached, runLocal,
} from './control.js';
import { HistoryPolicy } from './cluster/history-policy.js';
import { CloseCodes, HeraldError } from './errors.js';
import type { HttpHost } from './http-host.js';
import type { ResolvedOptions } from './options.js';
import { assertDepth, type Position, type PresenceEntry } from './protocol.js';
import { Publication } from './publication.js';
import { PrincipalRates } from './limits/message-rate.js';
import { LogLimiter } from './log-limiter.js';
import { Router } from './router.js';
import { Session } from './session.js';
import type { SessionHost, SubscribeOutcome, Subscription } from './session-host.js';
import { TurnFlush } from './session-outbound.js';
import { assertPattern, assertTopic, covers, isPattern, matches } from './topic.js';
import { VERSION } from './version.js';

export interface BrokerEvents {
  connect: [session: Session];
  disconnect: [session: Session, code: number];
  subscribe: [session: Session, topic: string];
  unsubscribe: [session: Session, topic: string];
  /** First local subscriber of a pattern on this node. */
  occupied: [topic: string];
  /** Last local subscriber of a pattern on this node left. */
  vacated: [topic: string];
  publish: [publication: Publication];
}

export class Broker extends EventEmitter<BrokerEvents> implements BrokerApi {
  readonly nodeId: string;
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  private readonly limits: Limits;
  private readonly rates: PrincipalRates;
  /** For log lines clients can cause: a few per kind and window, then a count of the rest. */
  private readonly limitedLog: LogLimiter;
  /** What this broker's sessions may ask of it (session-host.ts): kept off the public class. */
  private readonly sessionHost: SessionHost<Session>;

  private readonly adapter: ClusterAdapter;
  /** Which topics keep history: decided here for every engine. */
  private readonly historyPolicy: HistoryPolicy;
  private readonly transports: readonly Transport[];
  private readonly http: HttpHost;
  private readonly router = new Router<Session>();
  /** Sessions that want join/leave pushes, by pattern. */
  private readonly presenceWatchers = new Router<Session>();
  /** Adapter interest per pattern; awaited by every subscriber so none reads history before it holds. */
  private readonly interest = new Map<string, Promise<void>>();
  readonly sessions = new Set<Session>();
  readonly version = VERSION;
  readonly startedAt = Date.now();
  private readonly cleanups = new Set<Promise<void>>();
  private sequence = 0;
  private closing: Promise<void> | undefined;
  private readonly counters = {
    publicationsIn: 0, publicationsFromCluster: 0, deliveries: 0, slowConsumerCloses: 0, droppedMessages: 0,
    recoveriesComplete: 0, recoveriesIncomplete: 0, authFailures: 0, gapUnsubscribes: 0, encodeFailures: 0,
  };
  private readonly disconnects: Record<string, number> = {};

  constructor(options: ResolvedOptions, logger: Logger, adapter: ClusterAdapter, http: HttpHost, transports: readonly Transport[], nodeId: string) {
    super();
    this.options = options;
    this.limits = options.limits;
    this.logger = logger;
    this.adapter = adapter;
    this.historyPolicy = new HistoryPolicy(options.history);
    this.http = http;
    this.transports = transports;
    this.nodeId = nodeId;
    this.rates = new PrincipalRates(options.limits);
    this.limitedLog = new LogLimiter(logger);
    const { authenticate, authorize } = options.hooks;
    this.sessionHost = {
      limits: options.limits,
      logger,
      hasAuthenticate: authenticate !== undefined,
      hasAuthorize: authorize !== undefined,
      rates: this.rates,
      limitedLog: this.limitedLog,
      turn: new TurnFlush(),
      authenticate: (handshake) => authenticate!(handshake),
      authorize: (principal, action, topic) => (authorize ? authorize(principal, action, topic) : true),
      publish: (topic, data) => this.publish(topic, data),
      subscribe: (session, sub, since) => this.subscribeSession(session, sub, since),
      unsubscribe: (session, sub) => this.unsubscribeSession(session, sub),
      history: (topic, query) => this.history(topic, query),
      presence: (topic) => this.presence(topic),
      slowConsumer: (session, dropped) => {
        this.counters.slowConsumerCloses++;
        this.counters.droppedMessages += dropped;
        this.limitedLog.warn({ session: session.id }, 'slow consumer closed');
      },
      recovery: (complete) => {
        if (complete) this.counters.recoveriesComplete++;
        else this.counters.recoveriesIncomplete++;
      },
      authFailed: () => { this.counters.authFailures++; },
      encodeFailed: (session, pub, err) => {
        this.counters.encodeFailures++;
        this.limitedLog.error({ err, session: session.id, transport: session.transport, topic: pub.topic }, 'publication could not be encoded for this subscriber: skipped for it alone');
      },
      removed: (session, code, subscriptions) => this.removed(session, code, subscriptions),
    };
  }

  /** Starts the adapter, attaches transports, then listens (port mode). createBroker() calls it. */
  async start(): Promise<void> {
    const node: AdapterNode = {
      id: this.nodeId,
      logger: this.logger.child({ adapter: this.adapter.name }),
      history: this.options.history,
      maxIdempotencyKeys: this.options.control.maxIdempotencyKeys,
      keepsHistory: (topic) => this.historyPolicy.keeps(topic),
      historyCovers: (pattern) => this.historyPolicy.covers(pattern),
      deliver: (pub) => {
        this.counters.publicationsFromCluster++;
        this.deliver(pub);
      },
      presenceEvent: (kind, topic, entry) => this.presenceEvent(kind, topic, entry),
      missed: (patterns) => this.missed(patterns),
      control: async (command) => runLocal(this, command),
    };
    await this.adapter.start(node);
    for (const transport of this.transports) await transport.attach(this.hostFor(transport));
    await this.http.start();
  }

  /** The listening address in port mode. */
  address(): AddressInfo | undefined {
    return this.http.address();
  }

  /** noServer mode: offer an upgrade; returns false when the path is not Herald's. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    return this.http.handleUpgrade(req, socket, head);
  }

  /** noServer mode: offer a request; returns false when the path is not Herald's. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    return this.http.handleRequest(req, res);
  }

  // ------------------------------------------------------------------ application API

  async publish(topic: string, data: unknown, options: PublishOptions = {}): Promise<PublishResult> {
    assertTopic(topic);
    return this.publishChecked(topic, data, parseIdempotencyKey(options.idempotencyKey));
  }

  /** A publication with a key goes out once per key within the window, cluster-wide (adapter.publishOnce). */
  private async publishChecked(topic: string, data: unknown, key: string | undefined): Promise<PublishResult> {
    assertDepth(data, this.limits.maxDepth);
    if (this.closing) throw new HeraldError('unsupported', 'broker is shutting down');
    const value = data === undefined ? null : data;
    let position: Position | undefined;
    // The broker decides per publish whether the topic keeps history; the engine stores what it is told.
    const settings = { history: this.historyPolicy.keeps(topic) };
    if (key === undefined) position = await this.adapter.publish(topic, value, settings);
    else {
      const once = await this.adapter.publishOnce(topic, value, key, this.options.control.idempotencyWindow, settings);
      position = once.position;
      if (once.duplicate) return position ? { offset: position.offset, epoch: position.epoch } : {};
    }
    const pub = new Publication(topic, value, position?.offset, position?.epoch, this.nodeId);
    this.counters.publicationsIn++;
    this.deliver(pub);
    return position ? { offset: position.offset, epoch: position.epoch } : {};
  }

  // ------------------------------------------------------------------ back-end control (core/control.ts), cluster-wide

  /** The same data to many topics, each with its own position; with a key, each topic once per key. */
  async broadcast(topics: readonly string[], data: unknown, options: PublishOptions = {}): Promise<BroadcastResult> {
    const checked = parseTopics(topics);
    const key = parseIdempotencyKey(options.idempotencyKey);
    return broadcastVia((t, d, o) => this.publishChecked(t, d, o.idempotencyKey), checked, data, key === undefined ? {} : { idempotencyKey: key });
  }

  /** Closes every connection of a user (or one client) on every node and transport, with 4002 (may reconnect) or 4003 (must not). */
  async disconnect(target: Target, options: DisconnectOptions = {}): Promise<ControlResult> {
    return reached(await this.adapter.gatherControl({ op: 'disconnect', target: parseTarget(target), ...parseDisconnect(options) }));
  }

  /** Server-side subscription of a user's (or a client's) live connections on every node; bypasses authorize. */
  subscribe(target: Target, pattern: string, options: ServerSubscribeOptions = {}): Promise<ControlResult> {
    const command: ControlCommand = options.since === undefined
      ? { op: 'subscribe', target: parseTarget(target), topic: assertPattern(pattern) }
      : { op: 'subscribe', target: parseTarget(target), topic: assertPattern(pattern), since: options.since };
    return this.adapter.gatherControl(command).then(reached);
  }

  /** Takes a user's (or a client's) connections out of a pattern on every node, with an `unsub` push (reason `server`). */
  unsubscribe(target: Target, pattern: string): Promise<ControlResult> {
    return this.adapter.gatherControl({ op: 'unsubscribe', target: parseTarget(target), topic: assertPattern(pattern) }).then(reached);
  }

  /** Patterns with subscribers across the cluster (those `pattern` covers), with counts per node; the busiest `limit` (default 1000). */
  async topics(options: { pattern?: string; limit?: number } = {}): Promise<TopicsResult> {
    const { pattern } = options;
    if (pattern !== undefined && !isPattern(pattern)) throw new HeraldError('invalid_topic', 'pattern is not a valid topic pattern');
    const limit = parseTopicsLimit(options.limit);
    return mergeTopics(await this.adapter.gatherControl(pattern === undefined ? { op: 'topics', limit } : { op: 'topics', pattern, limit }), limit);
  }

  /** Every node of the cluster that answered: id, version, uptime, connections by transport, subscriptions. */
  async info(): Promise<{ nodes: NodeInfo[] }> {
    const replies: NodeControlReply[] = await this.adapter.gatherControl({ op: 'info' });
    return { nodes: replies.flatMap((r) => (r.info ? [r.info] : [])).sort((a, b) => (a.id < b.id ? -1 : 1)) };
  }

  /** Clients and distinct users in a topic's presence, cluster-wide. */
  async presenceStats(topic: string): Promise<PresenceStats> {
    return presenceStatsOf(await this.presence(topic));
  }

  history(topic: string, query: HistoryQuery = {}): Promise<HistoryResult> {
    assertTopic(topic);
    return this.adapter.history(topic, query);
  }

  presence(topic: string): Promise<PresenceEntry[]> {
    assertTopic(topic);
    return this.adapter.presence(topic);
  }

  async position(topic: string): Promise<Position | undefined> {
    assertTopic(topic);
    try {
      return (await this.adapter.history(topic, { limit: 0 })).position;
    } catch (err) {
      if (err instanceof HeraldError && err.code === 'unsupported') return undefined;
      throw err;
    }
  }

  stats(): BrokerStats {
    const byTransport: Record<string, number> = {};
    let subscriptions = 0;
    for (const s of this.sessions) {
      byTransport[s.transport] = (byTransport[s.transport] ?? 0) + 1;
      subscriptions += s.subscriptions.size;
    }
    return {
      connections: this.sessions.size,
      connectionsByTransport: byTransport,
      topics: this.interest.size,
      subscriptions,
      ...this.counters,
      disconnectsByCode: { ...this.disconnects },
    };
  }

  chargeRate(principal: Principal | undefined, remoteAddress: string): boolean {
    return this.rates.take(this.rates.keyOf(principal, remoteAddress));
  }

  // ------------------------------------------------------------------ fan-out

  /** Local fan-out of a publication (own or from another node). */
  private deliver(pub: Publication): void {
    const targets = this.router.match(pub.topic);
    let delivered = 0;
    for (let i = 0; i < targets.length; i++) if (targets[i]!.push(pub)) delivered++;
    this.counters.deliveries += delivered;
    if (this.listenerCount('publish') > 0) this.emit('publish', pub);
  }

  private presenceEvent(kind: 'join' | 'leave', topic: string, entry: PresenceEntry): void {
    const message = { op: kind, topic, ...entry };
    for (const s of this.presenceWatchers.match(topic)) s.send(message);
  }

  /**
   * Publications on these patterns may have been lost upstream and the adapter could not repair
   * them: each local subscription of one of them is dropped with an `unsub` push (reason `gap`), so
   * its client resubscribes with `since` and learns whether anything is missing. Connections stay.
   */
  private missed(patterns: readonly string[]): void {
    const lost = new Set(patterns);
    let dropped = 0;
    for (const session of [...this.sessions]) dropped += session.gaps(lost);
    this.counters.gapUnsubscribes += dropped;
    if (dropped > 0) this.logger.warn({ patterns: patterns.length, subscriptions: dropped }, 'publications may have been missed: subscriptions told to resubscribe (unsub, reason gap)');
  }

  // ------------------------------------------------------------------ sessions

  open(connection: Connection, handshake: Handshake, encoder: Encoder): Session {
    const session = new Session(this.sessionHost, `${this.nodeId}-${(++this.sequence).toString(36)}`, connection, encoder, handshake);
    this.sessions.add(session);
    this.emit('connect', session);
    if (this.closing) session.close(CloseCodes.shuttingDown, 'shutting down');
    else session.start();
    return session;
  }

  private async subscribeSession(session: Session, sub: Subscription, since: Position | undefined): Promise<SubscribeOutcome> {
    const { pattern } = sub;
    this.router.add(pattern, session);
    if (sub.presence || this.options.presence.events.some((p) => covers(p, pattern))) this.presenceWatchers.add(pattern, session);
    let ready = this.interest.get(pattern);
    if (ready === undefined) {
      ready = this.adapter.subscribe(pattern);
      this.interest.set(pattern, ready);
      ready.catch(() => this.interest.get(pattern) === ready && this.interest.delete(pattern));
      this.emit('occupied', pattern);
    }
    await ready;
    const outcome: SubscribeOutcome = { position: undefined, replay: [], recovered: false };
    // Gone while interest was set up: its cleanup already ran (a join now would be a ghost).
    if (session.subscriptions.get(pattern) !== sub) return outcome;
    this.emit('subscribe', session, pattern);
    if (!sub.literal) return outcome;
    if (this.tracksPresence(pattern)) {
      const entry = this.entryOf(session);
      await this.adapter.join(pattern, entry);
      this.presenceEvent('join', pattern, entry);
    }
    try {
      const result = await this.adapter.history(pattern, since ? { since } : { limit: 0 });
      outcome.position = result.position;
      if (since) {
        outcome.recovered = result.recovered;
        if (result.recovered) outcome.replay = result.publications;
      }
    } catch (err) {
      if (!(err instanceof HeraldError && err.code === 'unsupported')) throw err;
    }
    return outcome;
  }

  private async unsubscribeSession(session: Session, sub: Subscription): Promise<void> {
    const { pattern } = sub;
    if (!this.router.remove(pattern, session)) return;
    this.presenceWatchers.remove(pattern, session);
    this.emit('unsubscribe', session, pattern);
    const work: Promise<void>[] = [];
    if (sub.literal && this.tracksPresence(pattern)) {
      work.push(this.adapter.leave(pattern, session.id));
      this.presenceEvent('leave', pattern, this.entryOf(session));
    }
    if (this.router.count(pattern) === 0) {
      this.interest.delete(pattern);
      work.push(this.adapter.unsubscribe(pattern));
      this.emit('vacated', pattern);
    }
    await Promise.all(work);
  }

  /** A session closed: what it held (its subscriptions, handed over by it) is released in the router and the adapter. */
  private removed(session: Session, code: number, subscriptions: readonly Subscription[]): void {
    if (!this.sessions.delete(session)) return;
    const cleanup = Promise.all(subscriptions.map((s) => this.unsubscribeSession(session, s)))
      .then(() => undefined, (err: unknown) => this.logger.warn({ err, session: session.id }, 'cleanup after disconnect failed'));
    this.cleanups.add(cleanup);
    void cleanup.finally(() => this.cleanups.delete(cleanup));
    this.disconnects[code] = (this.disconnects[code] ?? 0) + 1;
    this.emit('disconnect', session, code);
  }

  private tracksPresence(topic: string): boolean {
    return this.options.presence.topics.some((p) => matches(p, topic));
  }

  private entryOf(session: Session): PresenceEntry {
    const entry: PresenceEntry = { client: session.id, user: session.principal?.user ?? null };
    if (session.principal?.info !== undefined) entry.info = session.principal.info;
    return entry;
  }

  private hostFor(transport: Transport): TransportHost {
    return {
      broker: this,
      logger: this.logger.child({ transport: transport.name }),
      options: this.options,
      open: (connection, handshake, encoder) => this.open(connection, handshake, encoder),
      onUpgrade: (path, handler) => this.http.onUpgrade(path, handler),
      onRequest: (path, handler) => this.http.onRequest(path, handler),
    };
  }

  // ------------------------------------------------------------------ shutdown

  /** Stops accepting, closes every client with 1001 (after flushing), closes transports, adapter and owned server. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.http.stopAccepting();
      for (const session of [...this.sessions]) session.close(CloseCodes.shuttingDown, 'shutting down');
      await Promise.allSettled(this.transports.map((t) => t.close()));
      await Promise.allSettled([...this.cleanups]);
      await this.adapter.close();
      await this.http.close();
    })();
    return this.closing;
  }
}
