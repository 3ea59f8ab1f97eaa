/**
 * The plugin contracts (docs/architecture.md). Everything a transport or a cluster adapter may rely on is
 * here; the rest of core/ is private to the broker.
 *
 * A leaf: it imports types only, and only from modules that import nothing of core/ themselves
 * (messages.ts, errors.ts, publication.ts), so every other module may import it without a circle
 * (test/core/import-boundary.test.ts keeps it so).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { HeraldError } from './errors.js';
import type { Position, PresenceEntry, PublishResult, Reply, ServerMessage } from './messages.js';
import type { Chunk, Publication } from './publication.js';

// ---------------------------------------------------------------- transports

/** A transport: one folder under transports/, turning its wire into core commands and back. */
export interface Transport {
  readonly name: string;
  /** Registers the transport's routes on the host; called once, before the broker listens. */
  attach(host: TransportHost): void | Promise<void>;
  /** Stops accepting and releases resources; sessions are closed by the broker before this. */
  close(): Promise<void>;
}

/** What the broker offers a transport. */
export interface TransportHost {
  readonly broker: BrokerApi;
  readonly logger: Logger;
  readonly options: TransportSettings;
  /** Creates the session of a new connection. The transport then feeds it decoded frames. */
  open(connection: Connection, handshake: Handshake, encoder: Encoder): SessionHandle;
  /** Claims HTTP upgrades on `path` (exact match, query ignored). */
  onUpgrade(path: string, handler: UpgradeHandler): void;
  /** Claims HTTP requests on `path`: exact match, or a prefix when it ends with '/'. */
  onRequest(path: string, handler: RequestHandler): void;
}

/** The broker's resolved settings a transport may read (core/options.ts fills them, with defaults). */
export interface TransportSettings {
  readonly limits: Limits;
  readonly history: HistorySettings;
  readonly hooks: Hooks;
  /** The address the owned server binds (port mode). */
  readonly host?: string;
  /** The cluster adapter given to the broker; undefined: the built-in memory adapter. */
  readonly adapter?: ClusterAdapter;
}

/** A client connection's session as its transport drives it (core/session.ts). */
export interface SessionHandle {
  /** The client id (presence, broker.disconnect({client})). */
  readonly id: string;
  readonly transport: string;
  /** Undefined until authenticated. */
  readonly principal: Principal | undefined;
  readonly handshake: Handshake;
  /** The patterns it is subscribed to, by pattern. */
  readonly subscriptions: ReadonlyMap<string, unknown>;
  readonly isClosed: boolean;
  /**
   * Feeds one decoded client message (any value: it is validated by the session). With `onReply`
   * its reply goes to the callback instead of through the Encoder (ReplyHandler).
   */
  handle(raw: unknown, onReply?: ReplyHandler): void;
  /** Reports an inbound frame the transport could not decode (counts as a protocol error). */
  reject(error: HeraldError): void;
  /** Server-side close: flushes what is queued, closes the connection with `code`, frees the session. */
  close(code: number, reason: string): void;
  /** The transport reports that the connection is gone (1006 when it has no close code). */
  disconnected(code?: number): void;
}

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** One client connection as the core sees it. */
export interface Connection {
  /**
   * Writes chunks made by this connection's Encoder, in order. The broker calls it at most once per
   * event-loop turn, and once more before each reply callback (ReplyHandler) it runs.
   */
  write(chunks: Chunk[]): void;
  /** Closes with a protocol close code (errors.ts CloseCodes); transports without codes map them. */
  close(code: number, reason: string): void;
  /** Bytes accepted but not yet sent by the socket; counted against the outbound byte cap. */
  readonly bufferedAmount: number;
}

/** Turns server messages into this connection's wire form. */
export interface Encoder {
  /**
   * Publications are encoded once per key and the bytes shared by every connection with that key,
   * so the key must name everything the bytes depend on: codec and framing ('ws.json').
   */
  readonly key: string;
  encode(message: ServerMessage): Chunk;
  /**
   * Optional per-connection form of a publication (say, one that carries a per-stream event id).
   * It may still share parts through `pub.encoded()`. Absent: `pub.encoded(key, p => encode(p.message()))`.
   */
  publication?(pub: Publication): Chunk;
}

/**
 * Takes a command's reply instead of the Encoder (`session.handle(raw, onReply)`), for a transport
 * that answers commands its own way: a socket.io ack, an SSE stream's ready event, or an MQTT ack.
 * Called in command order once everything queued before the reply was handed to Connection.write; a
 * returned chunk (this connection's wire form) is queued in the reply's place.
 */
export type ReplyHandler = (reply: Reply) => Chunk | void;

/** What a client presented when it connected, in transport-neutral form. */
export interface Handshake {
  readonly transport: string;
  readonly remoteAddress: string;
  readonly headers: IncomingHttpHeaders;
  readonly query: URLSearchParams;
  /** A credential the transport found (Authorization bearer, access_token, socket.io auth.token, auth op). */
  readonly token?: string;
  /**
   * False when the client has no way to send an `auth` command later (SSE): a connection without
   * credentials is then refused at once (4001, which SSE answers as HTTP 401) instead of waiting
   * for `limits.authTimeout`.
   */
  readonly canSendAuth?: boolean;
}

// ---------------------------------------------------------------- settings
// Declared here so that plugins need not import options.ts; its zod schema must produce exactly
// these (test/core/options.test.ts checks both directions). Meanings and defaults: core/options.ts.

export interface Limits {
  maxPayload: number;
  maxDepth: number;
  outboundBytes: number;
  maxSubscriptions: number;
  protocolErrors: number;
  pendingCommands: number;
  authTimeout: number;
  pingInterval: number;
  messageRate: number;
  messageBurst: number;
  principalRate: number;
  principalBurst: number;
  rateLimitStrikes: number;
  connectionsPerIp: number;
  connectionRate: number;
  connectionBurst: number;
  exemptLoopback: boolean;
  headersTimeout: number;
  requestTimeout: number;
}

export interface HistorySettings {
  size: number;
  ttl: number;
  /** Patterns of the topics that keep history. */
  topics: string[];
  maxTopics: number;
  maxBytes: number;
  /** Where the built-in memory engine keeps history (in memory when absent): say, lmdbHistory({ dir }). */
  store?: HistoryStore | undefined;
}

// ---------------------------------------------------------------- broker API

/** Declared with the wire types (messages.ts), so the browser client shares it. */
export type { PublishResult };

export interface BrokerStats {
  connections: number;
  connectionsByTransport: Record<string, number>;
  /** Distinct patterns with a local subscriber. */
  topics: number;
  subscriptions: number;
  /** Publications accepted on this node (from its clients or application code). */
  publicationsIn: number;
  /** Publications accepted by other nodes and handed to this one by the cluster adapter. */
  publicationsFromCluster: number;
  /** Publications queued to sessions (one per matching session). */
  deliveries: number;
  slowConsumerCloses: number;
  /** Sessions closed with 4008 because the cluster link broke and they may have missed publications. */
  /** Subscriptions dropped with an `unsub` push (reason `gap`) because publications on them may have been missed. */
  gapUnsubscribes: number;
  /** Publications a subscriber's encoder could not encode: skipped for that subscriber alone. */
  encodeFailures: number;
  /** Messages discarded because their session was closed as a slow consumer (queued or held while recovering). */
  droppedMessages: number;
  /** Subscribes with `since` answered recovered:true / recovered:false. */
  recoveriesComplete: number;
  recoveriesIncomplete: number;
  /** Sessions whose credentials were refused (authenticate hook threw or returned null to `auth`). */
  authFailures: number;
  /** Closed sessions by close code (1001, 4001, 4008...; 1000/1005/1006 when the client went away). */
  disconnectsByCode: Record<string, number>;
}

export interface BrokerApi {
  readonly nodeId: string;
  /** Publishes from application code (no authorization). Throws invalid_topic for a bad topic. */
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<PublishResult>;
  /** The rest acts on every node of the cluster (core/control.ts). */
  broadcast(topics: readonly string[], data: unknown, options?: PublishOptions): Promise<BroadcastResult>;
  disconnect(target: Target, options?: DisconnectOptions): Promise<ControlResult>;
  subscribe(target: Target, pattern: string, options?: ServerSubscribeOptions): Promise<ControlResult>;
  unsubscribe(target: Target, pattern: string): Promise<ControlResult>;
  topics(options?: { pattern?: string; limit?: number }): Promise<TopicsResult>;
  info(): Promise<{ nodes: NodeInfo[] }>;
  presenceStats(topic: string): Promise<PresenceStats>;
  history(topic: string, query?: HistoryQuery): Promise<HistoryResult>;
  presence(topic: string): Promise<PresenceEntry[]>;
  /** The topic's position now. */
  position(topic: string): Promise<Position | undefined>;
  stats(): BrokerStats;
  /**
   * Charges one command or request to its principal's rate (limits.principalRate), shared with that
   * principal's sessions; false when over it (answer `rate_limited`). `principal` undefined: anonymous.
   */
  chargeRate(principal: Principal | undefined, remoteAddress: string): boolean;
}

/** Whose connections a command acts on: every connection of a user, or one connection (its client id). */
export type Target = { readonly user: string } | { readonly client: string };

export type ControlCommand =
  | { readonly op: 'disconnect'; readonly target: Target; readonly code: number; readonly reason: string }
  | { readonly op: 'unsubscribe'; readonly target: Target; readonly topic: string }
  | { readonly op: 'subscribe'; readonly target: Target; readonly topic: string; readonly since?: Position }
  | { readonly op: 'topics'; readonly pattern?: string; readonly limit: number }
  | { readonly op: 'info' };

/** A pattern with local subscribers on one node. */
export interface TopicCount {
  readonly topic: string;
  readonly subscribers: number;
}

/** One node as `info()` lists it. */
export interface NodeInfo {
  readonly id: string;
  readonly version: string;
  /** Milliseconds since the broker started. */
  readonly uptime: number;
  readonly connections: number;
  readonly connectionsByTransport: Record<string, number>;
  readonly subscriptions: number;
  /** Distinct patterns with a local subscriber. */
  readonly topics: number;
}

/** What one node answers to a control command. */
export interface NodeControlReply {
  readonly node: string;
  /** disconnect / unsubscribe / subscribe: connections of the target this node acted on. */
  readonly connections?: number;
  /** topics: this node's patterns (matching the asked pattern) with their subscriber counts, the busiest `limit`. */
  readonly topics?: TopicCount[];
  /** topics: the node had more than `limit`. */
  readonly truncated?: boolean;
  /** info: this node. */
  readonly info?: NodeInfo;
}

export interface PublishOptions {
  /**
   * A publish with a key already used within `control.idempotencyWindow` (any node of the cluster)
   * is not delivered again and answers with the first one's offset and epoch.
   */
  readonly idempotencyKey?: string;
}

export interface DisconnectOptions {
  /** 4002 (default: the client may reconnect) or 4003 (it must not; the Herald client stops). */
  readonly code?: number;
  readonly reason?: string;
}

export interface ServerSubscribeOptions {
  /** Recover from this position, like a client's `sub` with `since` (literal topics). */
  readonly since?: Position;
}

/** Connections reached on each node, and in all. */
export interface ControlResult {
  readonly connections: number;
  readonly nodes: Record<string, number>;
}

export interface TopicsResult {
  readonly topics: { topic: string; subscribers: number; nodes: Record<string, number> }[];
  /** More patterns than `limit` exist: these are the busiest. */
  readonly truncated: boolean;
}

export interface PresenceStats {
  readonly clients: number;
  readonly users: number;
}

export interface BroadcastResult {
  /** One reply per topic, in the order given: its own offset and epoch when it keeps history. */
  readonly results: { topic: string; offset?: number; epoch?: string }[];
}

// ---------------------------------------------------------------- auth hooks

/** Who a session acts for. */
export interface Principal {
  /** User id; null for an anonymous client. */
  readonly user: string | null;
  /** Claims for authorize() (a JWT payload, say). */
  readonly claims?: Readonly<Record<string, unknown>>;
  /** Epoch milliseconds when the credential expires: the session is closed with 4001 then, unless refreshed by `auth`. */
  readonly expiresAt?: number;
  /** Shown to others in presence. */
  readonly info?: unknown;
}

export type Action = 'subscribe' | 'publish' | 'presence' | 'history';

export interface Hooks {
  /**
   * Resolves a handshake (with `token` when one was presented) to a principal. Return null when
   * no credential was presented: the session waits for an `auth` command (until `limits.authTimeout`).
   * Throw (any error) to reject: the client gets `unauthorized` and close 4001.
   * Without this hook every client is anonymous.
   */
  authenticate?(handshake: Handshake): Principal | null | Promise<Principal | null>;
  /** Allows or denies an action on a topic or pattern. Without this hook everything is allowed. */
  authorize?(principal: Principal, action: Action, topic: string): boolean | Promise<boolean>;
}

// ---------------------------------------------------------------- cluster adapters

/** What the broker hands its adapter at start. */
export interface AdapterNode {
  /** This node's id: adapters drop their own echo with it. */
  readonly id: string;
  readonly logger: Logger;
  /** How much history and how long (bounds for a store); which topics keep it is keepsHistory(). */
  readonly history: HistorySettings;
  /** The broker's choice: does this topic keep history? (The broker also passes it with each publish.) */
  keepsHistory(topic: string): boolean;
  /** Does every topic this pattern can match keep history, so what it missed can be read back completely? */
  historyCovers(pattern: string): boolean;
  /** Idempotency keys an adapter that keeps them in memory remembers at most (control.maxIdempotencyKeys). */
  readonly maxIdempotencyKeys: number;
  /** Hands a publication accepted by another node to this node's subscribers. */
  deliver(pub: Publication): void;
  /** Hands a presence change on another node to this node's subscribers. */
  presenceEvent(kind: 'join' | 'leave', topic: string, entry: PresenceEntry): void;
  /**
   * Publications on these patterns may not have reached this node and the adapter could not
   * repair them (its link broke on topics without history, the history lost them...). The broker
   * drops each local subscription of these patterns with an `unsub` push (reason `gap`), so its
   * client resubscribes with `since` and learns whether anything is missing: never a silent gap,
   * never a closed connection. Adapters repair what they can first and report only the rest.
   */
  missed(patterns: readonly string[]): void;
  /** Runs a control command (core/control.ts) on this node's sessions; the adapter calls it for every node's gatherControl. */
  control(command: ControlCommand): Promise<NodeControlReply>;
}

/** What the broker decides per publish (as Centrifuge's node passes history size and ttl with each publish). */
export interface PublishSettings {
  /** Store the publication and give it a position. Absent: the adapter asks AdapterNode.keepsHistory. */
  readonly history?: boolean;
}

/** What publishOnce answers: the first publication's position under this key, and whether this one was a repeat. */
export interface PublishOnceResult {
  readonly position: Position | undefined;
  /** True when the key was used within the window: nothing was published or delivered this time. */
  readonly duplicate: boolean;
}

export interface HistoryQuery {
  /** Only publications after this position. */
  readonly since?: Position;
  /** At most this many, the newest ones (0: none, only the position). */
  readonly limit?: number;
}

export interface HistoryResult {
  /** Oldest first. With `since`: those after it. */
  readonly publications: Publication[];
  /** The topic's position now: offset of its latest publication (0 when none) and epoch. */
  readonly position: Position;
  /** With `since`: true when `publications` holds every publication made after it (same epoch, nothing evicted). */
  readonly recovered: boolean;
}

/** The history settings a store keeps to (broker option `history`): size and age per topic, topic count. */
export type HistoryBounds = Pick<HistorySettings, 'size' | 'ttl' | 'maxTopics' | 'maxBytes'>;

/**
 * Where an adapter without history of its own (the memory adapter) keeps the publications of topics
 * with history: in memory (adapters/memory, the default) or on disk (herald/adapters/lmdb).
 * Semantics every store keeps, pinned by test/adapters/history-store-conformance.ts:
 * - open() is counted: several adapters (brokers on one MemoryBus) may share a store; the first
 *   open() opens it with its bounds, the last close() closes it. A store that cannot open (say, an
 *   unwritable directory) rejects with an error naming the cause.
 * - append() gives the topic its next offset (contiguous from 1 within an epoch) in call order,
 *   synchronously, and resolves once the publication is kept as the store promises (a durable
 *   store: on disk in its durability mode). It rejects with HeraldError('unavailable') when it could
 *   not keep it (full disk): no read ever returns it, and positions handed out around the failure
 *   never resume as recovered:true.
 * - read() answers HistoryResult: oldest first, recovered:true only when every publication after
 *   `since` is returned.
 * - Bounds: at most `size` publications per topic; none older than `ttl` is returned, and sweep()
 *   drops expired ones (and topics left with nothing) even where nobody reads; at most `maxTopics`
 *   topics, the least recently published dropped first; at most `maxBytes` of publications, the
 *   least recently published topics losing their oldest publications first. Only a publish creates
 *   state: reading a topic without any answers from an empty one at the store's current epoch
 *   (which that topic's first publish then starts at), so asking never makes the store hold anything.
 * - A topic's epoch changes exactly when its history is lost (dropped topic, failed write, a memory
 *   store's restart): every drop moves the store's generation on, so no epoch is ever reused. A
 *   durable store keeps positions and epochs across close() and open().
 */
export interface HistoryStore {
  readonly name: string;
  open(bounds: HistoryBounds): Promise<void>;
  /** `origin`: the node that accepted the publication (Publication.origin). */
  append(topic: string, data: unknown, origin: string): Promise<Publication>;
  read(topic: string, query: HistoryQuery): Promise<HistoryResult>;
  /** Drops what outlived `ttl` on every topic, and the topics left with nothing. The adapter calls it on a timer. */
  sweep(): void;
  stats(): HistoryStoreStats;
  close(): Promise<void>;
}

/** What a history store holds now (read by /metrics on scrape). */
export interface HistoryStoreStats {
  /** Topics with state (publications, or positions still in their ttl). */
  topics: number;
  publications: number;
  /** Bytes of the publications kept, as counted against `history.maxBytes`. */
  bytes: number;
}

/**
 * A cluster adapter connects broker instances (a Centrifuge-style Broker + PresenceManager). An
 * engine extends ClusterAdapterBase (core/cluster/adapter-base.ts), which implements this for it and
 * keeps what every engine shares (history choice, echo and duplicate dropping, gap signalling).
 * Semantics every adapter must keep, pinned by test/adapters/conformance.ts:
 * - publish() stores the publication and assigns its position when the broker says the topic keeps
 *   history (`settings.history`), and delivers to every other node
 *   that expressed interest in a matching pattern, never back to this node. It resolves only once
 *   the publication will reach them (it may wait while the cluster is unreachable) and rejects with
 *   HeraldError('unavailable') when it cannot: then no node delivers it.
 * - After a link fault, what a node missed on topics with history is delivered to it, in order and
 *   once; only what cannot be repaired is reported through AdapterNode.missed.
 * - Positions of one topic increase in publish order within an epoch; the epoch changes when the
 *   topic's history is lost.
 * - subscribe()/unsubscribe() are reference-counted by the broker: called on the first and last
 *   local subscriber of a pattern. Once subscribe() resolves, no later publication is missed.
 * - join()/leave() are visible to presence() on every node, and reported to the other nodes.
 */
export interface ClusterAdapter {
  readonly name: string;
  start(node: AdapterNode): Promise<void>;
  publish(topic: string, data: unknown, settings?: PublishSettings): Promise<Position | undefined>;
  /**
   * publish() at most once per `key` within `windowMs`, whichever node the repeats arrive on: a
   * repeat publishes nothing and answers with the first one's position (waiting for it if the first
   * is still in flight). A first publish that fails frees its key, so a retry may publish.
   */
  publishOnce(topic: string, data: unknown, key: string, windowMs: number, settings?: PublishSettings): Promise<PublishOnceResult>;
  /**
   * Runs a control command on every node of the cluster, this one included (AdapterNode.control),
   * and resolves with each node's reply. Nodes that do not answer in the adapter's time bound are
   * left out; `unavailable` when the cluster cannot be reached at all.
   */
  gatherControl(command: ControlCommand): Promise<NodeControlReply[]>;
  subscribe(pattern: string): Promise<void>;
  unsubscribe(pattern: string): Promise<void>;
  /** Throws HeraldError('unsupported') when the topic keeps no history (AdapterNode.keepsHistory). */
  history(topic: string, query: HistoryQuery): Promise<HistoryResult>;
  join(topic: string, entry: PresenceEntry): Promise<void>;
  leave(topic: string, client: string): Promise<void>;
  presence(topic: string): Promise<PresenceEntry[]>;
  close(): Promise<void>;
  /** Optional health counters, read by /metrics and /readyz on scrape (the memory adapter has none). */
  stats?(): ClusterAdapterStats;
  /** Optional round-trip time to the cluster in milliseconds; undefined while unreachable. */
  rtt?(timeoutMs?: number): Promise<number | undefined>;
}

/** What an adapter that talks to a network reports about it. */
export interface ClusterAdapterStats {
  /** True while the connection to the cluster is up. */
  connected: boolean;
  /** Publications refused (`unavailable`) because the cluster stayed unreachable: delivered nowhere. */
  lostPublications: number;
  /** Publications the history store did not confirm in time: refused (`unavailable`), not sent to other nodes. */
  unstoredPublications: number;
  disconnects: number;
  reconnects: number;
  /** Publications received from other nodes, and copies of them dropped as duplicates. */
  received: number;
  duplicates: number;
}
