/**
 * Broker options: what embedders pass to createBroker(), validated with zod so a bad value names
 * its key. Defaults live here and nowhere else; docs/configuration.md lists them.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ClusterAdapter, HistorySettings, HistoryStore, Hooks, Limits, Transport } from './contracts.js';
import { ConfigError, configIssues } from './errors.js';
import { normaliseOrigin } from './origins.js';
import { isPattern, NAME_TOKEN } from './topic.js';

const pattern = z.string().refine(isPattern, { message: 'not a valid topic pattern' });
const positiveInt = z.number().int().positive();

const limitsSchema = z.object({
  /** Largest inbound frame/message in bytes; over it ws closes with 1009. */
  maxPayload: positiveInt.default(64 * 1024),
  /** Levels of arrays/objects a publication's `data` may nest; deeper ones get `bad_request` on every transport. */
  maxDepth: positiveInt.default(64),
  /** Outbound bytes queued per connection (plus socket buffer) before it is closed with 4008. */
  outboundBytes: positiveInt.default(1024 * 1024),
  /** Subscriptions one connection may hold. */
  maxSubscriptions: positiveInt.default(128),
  /** Protocol errors (bad_request, invalid_topic) tolerated before closing with 4400. */
  protocolErrors: positiveInt.default(10),
  /** Publishes in flight per connection (pipelined), and commands queued behind them or a slow one, before further commands get rate_limited. */
  pendingCommands: positiveInt.default(256),
  /** Milliseconds an unauthenticated connection may wait for `auth` before 4001. */
  authTimeout: positiveInt.default(10_000),
  /** Milliseconds between server pings; a connection silent for two intervals is dropped. */
  pingInterval: positiveInt.default(25_000),
  /** Commands per second per connection (token bucket refill); over it a command gets `rate_limited`. */
  messageRate: positiveInt.default(1000),
  /** Commands a connection may send at once before the rate applies (token bucket size). */
  messageBurst: positiveInt.default(1000),
  /**
   * Commands per second per principal: a user across all its connections, every transport and the
   * HTTP API; anonymous clients per IP (loopback exempt with exemptLoopback). Over it: `rate_limited` (HTTP 429).
   */
  principalRate: positiveInt.default(5000),
  /** Commands a principal may send at once before principalRate applies. */
  principalBurst: positiveInt.default(5000),
  /** `rate_limited` replies without a calm second in between before the connection is closed with 4029. */
  rateLimitStrikes: positiveInt.default(100),
  /**
   * Concurrent connections per client IP. Port mode: TCP connections (so half-open requests count);
   * shared server / noServer: upgrades plus in-flight requests on Herald's paths. Over it: 429.
   */
  connectionsPerIp: positiveInt.default(1024),
  /** New connections per second per client IP (port mode: TCP accepts; otherwise upgrades). Over it: 429. */
  connectionRate: positiveInt.default(128),
  /** New connections one IP may open at once before connectionRate applies. */
  connectionBurst: positiveInt.default(256),
  /**
   * Loopback peers (127.0.0.0/8, ::1) skip connectionsPerIp / connectionRate: they are local tools
   * and benchmarks, or a reverse proxy on this host whose address every client would share.
   */
  exemptLoopback: z.boolean().default(true),
  /** Milliseconds a client has to send complete request headers (owned server only). */
  headersTimeout: positiveInt.default(10_000),
  /** Milliseconds a client has to send a complete request (owned server only; SSE responses are not affected). */
  requestTimeout: positiveInt.default(30_000),
}) satisfies z.ZodType<Limits>;

const historySchema = z.object({
  /** Publications kept per topic. 0 disables history. */
  size: z.number().int().min(0).default(100),
  /** Milliseconds a publication stays in history. */
  ttl: positiveInt.default(5 * 60_000),
  /** Patterns of the topics that keep history. */
  topics: z.array(pattern).default(['>']),
  /** Topics with history kept in memory at most; the least recently published are dropped (their epoch changes). */
  maxTopics: positiveInt.default(100_000),
  /**
   * Bytes of publications the memory adapter keeps across all topics (an estimate of their decoded
   * size); past it the least recently published topics lose their oldest publications first.
   */
  maxBytes: positiveInt.default(256 * 1024 * 1024),
  /**
   * Where the built-in memory engine keeps history: in memory when absent; `lmdbHistory({ dir })`
   * (herald/adapters/lmdb) on disk, so positions and epochs survive a restart. The core never loads a
   * store itself (docs/architecture.md): the durable one comes in only when given. For the built-in
   * memory engine only (a cluster adapter keeps its own history).
   */
  store: z.custom<HistoryStore>((v) => v !== null && typeof v === 'object' && typeof (v as HistoryStore).append === 'function' && typeof (v as HistoryStore).open === 'function', 'must be a HistoryStore').optional(),
}).strict() satisfies z.ZodType<HistorySettings>;

const presenceSchema = z.object({
  /** Patterns of topics whose literal subscribers are tracked in presence. */
  topics: z.array(pattern).default(['>']),
  /** Patterns of topics whose every subscriber gets join/leave pushes (others opt in with `sub {presence:true}`). */
  events: z.array(pattern).default([]),
});

const controlSchema = z.object({
  /** Milliseconds a publish idempotency key is remembered, cluster-wide: a repeat within it is not delivered again. */
  idempotencyWindow: positiveInt.default(2 * 60_000),
  /** Idempotency keys remembered at most per node (memory adapter); the oldest are forgotten first. */
  maxIdempotencyKeys: positiveInt.default(100_000),
});

const schema = z
  .object({
    port: z.number().int().min(0).max(65535).optional(),
    host: z.string().optional(),
    server: z.custom<Server>((v) => v !== null && typeof v === 'object' && typeof (v as Server).on === 'function', 'must be an http.Server').optional(),
    noServer: z.boolean().optional(),
    transports: z.array(z.custom<Transport>((v) => v !== null && typeof v === 'object' && typeof (v as Transport).attach === 'function', 'must be a Transport')).default([]),
    adapter: z.custom<ClusterAdapter>((v) => v !== null && typeof v === 'object' && typeof (v as ClusterAdapter).publish === 'function', 'must be a ClusterAdapter').optional(),
    hooks: z.custom<Hooks>((v) => v !== null && typeof v === 'object', 'must be an object of hooks').default({}),
    logger: z.custom<Logger | false>((v) => v === false || (v !== null && typeof v === 'object' && typeof (v as Logger).info === 'function'), 'must be a pino logger or false').optional(),
    nodeId: z.string().regex(NAME_TOKEN).optional(),
    /**
     * Browser origins allowed to connect (upgrades) and to call Herald's HTTP paths, compared exactly
     * with the Origin header (entries are normalised with URL#origin); a page served by the broker
     * itself (Origin host = Host header) always passes. `'*'`: every origin passes on every
     * transport, with CORS answers for all (development). Unset: no origin check and no CORS
     * headers. Requests without an Origin header (non-browser clients) are not affected.
     */
    allowedOrigins: z.union([z.literal('*'), z.array(z.string().transform((v, ctx) => {
      const origin = normaliseOrigin(v);
      if (origin === undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not an origin (scheme://host[:port])` });
      return origin ?? v;
    }))]).optional(),
    /** Serve https/wss on the owned server (port mode): PEM certificate chain and private key. */
    tls: z.object({ cert: z.union([z.string(), z.instanceof(Buffer)]), key: z.union([z.string(), z.instanceof(Buffer)]) }).strict().optional(),
    limits: limitsSchema.default(limitsSchema.parse({})),
    history: historySchema.default(historySchema.parse({})),
    presence: presenceSchema.default(presenceSchema.parse({})),
    control: controlSchema.default(controlSchema.parse({})),
  })
  .strict()
  .superRefine((o, ctx) => {
    const modes = [o.port !== undefined, o.server !== undefined, o.noServer === true].filter(Boolean).length;
    if (modes !== 1) ctx.addIssue({ code: 'custom', message: 'exactly one of port, server or noServer must be given', path: [] });
    if (o.host !== undefined && o.port === undefined) ctx.addIssue({ code: 'custom', message: 'host goes with port', path: ['host'] });
    if (o.limits.headersTimeout > o.limits.requestTimeout) ctx.addIssue({ code: 'custom', message: 'headersTimeout must not exceed requestTimeout', path: ['limits', 'headersTimeout'] });
    if (o.history.store !== undefined && o.adapter !== undefined) ctx.addIssue({ code: 'custom', message: 'store keeps history for the built-in memory engine; a cluster adapter keeps its own (give the store to memoryAdapter instead)', path: ['history', 'store'] });
    if (o.tls !== undefined && o.port === undefined) ctx.addIssue({ code: 'custom', message: 'tls goes with port (a shared server brings its own)', path: ['tls'] });
  });

export type BrokerOptions = z.input<typeof schema>;
export type ResolvedOptions = z.output<typeof schema>;

export function resolveOptions(input: BrokerOptions): ResolvedOptions {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(configIssues(result.error.issues));
  }
  return result.data;
}
