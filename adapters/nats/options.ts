/**
 * Options of the NATS adapter. Everything has a default chosen for a broker that must ride out NATS
 * restarts and failovers: reconnect forever, notice a dead connection within a few seconds, bound
 * every wait so a publish or a subscribe never hangs on a NATS outage.
 */
import type { ConnectionOptions } from '@nats-io/transport-node';
import { z } from 'zod';
import { ConfigError, configIssues, NAME_TOKEN } from '../../core/plugin.js';

export interface NatsAdapterOptions {
  /** NATS server URLs (`nats://host:port`); several for a cluster. Default `nats://127.0.0.1:4222`. */
  servers?: string | string[];
  /** Subject prefix of this Herald cluster; brokers sharing it form one cluster. Default `herald`. */
  prefix?: string;
  /** JetStream stream name. Default `<prefix>_history` (dots become `_`). */
  stream?: string;
  /** JetStream storage of the history stream. Default `file` (survives a nats-server restart). */
  storage?: 'file' | 'memory';
  /** Replicas of the history stream in a JetStream cluster (1..5). Default 1; use 3 on a 3-node cluster. */
  replicas?: number;
  /**
   * Milliseconds a publish may wait for JetStream to store it, retrying through a stream leader
   * election (nats-server elects within 4-9 s). Past it the publication is refused with `unavailable`
   * and not sent to other nodes (stats().unstoredPublications). Default 10000.
   */
  publishTimeoutMs?: number;
  /**
   * Bytes of publications (payload and topic) that may wait in the outbox while NATS is unreachable.
   * A publication that does not fit is refused at once with the retryable error `unavailable`.
   * Default 8 MiB.
   */
  outboxBytes?: number;
  /** Milliseconds a publication may wait in the outbox for NATS before it is refused with `unavailable`. Default 10000. */
  outboxAgeMs?: number;
  /** Milliseconds a JetStream read (history, position) or a subscription flush may take. Default 2000. */
  requestTimeoutMs?: number;
  /** Milliseconds between presence heartbeats of this node. Default 2000. */
  heartbeatMs?: number;
  /** Milliseconds without a heartbeat after which another node counts as dead and its clients leave presence. Default 3 × heartbeatMs. */
  nodeTimeoutMs?: number;
  /** Milliseconds between reconnect attempts to one server. Default 500. */
  reconnectTimeWaitMs?: number;
  /** Milliseconds between client pings; two unanswered pings mark the connection stale. Default 5000. */
  pingIntervalMs?: number;
  /** Milliseconds the first connect may take before start() fails. Default 5000. */
  connectTimeoutMs?: number;
  /** Extra nats.js connection options (user, pass, token, tls...); they override the defaults above. */
  connection?: Partial<ConnectionOptions>;
}

export interface ResolvedNatsOptions {
  servers: string[];
  prefix: string;
  stream: string | undefined;
  storage: 'file' | 'memory';
  replicas: number;
  publishTimeoutMs: number;
  outboxBytes: number;
  outboxAgeMs: number;
  requestTimeoutMs: number;
  heartbeatMs: number;
  nodeTimeoutMs: number;
  reconnectTimeWaitMs: number;
  pingIntervalMs: number;
  connectTimeoutMs: number;
  connection: Partial<ConnectionOptions>;
}

/** Outbox bounds by default (also the binary's defaults, bin/config.ts). */
export const NATS_OUTBOX_DEFAULTS = { outboxBytes: 8 * 1024 * 1024, outboxAgeMs: 10_000 } as const;

const positive = z.number().positive().finite();

/** `nats://a:4222,nats://b:4222` (the HERALD_NATS_URL form) or a list of such: one URL each. */
const servers = z.union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== ''))
  .refine((list) => list.length > 0, 'must name at least one URL');

/**
 * One token: two clusters with prefixes `herald` and `herald.t` would share subjects (the second's
 * `herald.t.t.x` is the first's topic `t.x`). Letters, digits, `_` and `-` only, so the stream and
 * bucket names made from it cannot collide either.
 */
export const natsPrefix = z.string().regex(NAME_TOKEN, 'must be one subject token of 1-64 letters, digits, _ or - (no dots: prefixes must not nest)');

/** Checked like createBroker's options (zod, ConfigError naming each key); unknown keys are errors there too. */
const natsOptionsSchema = z.strictObject({
  servers: servers.default(['nats://127.0.0.1:4222']),
  prefix: natsPrefix.default('herald'),
  stream: z.string().min(1).optional(),
  storage: z.enum(['file', 'memory']).default('file'),
  replicas: z.number().int().min(1).max(5).default(1),
  publishTimeoutMs: positive.default(10_000),
  outboxBytes: positive.default(NATS_OUTBOX_DEFAULTS.outboxBytes),
  outboxAgeMs: positive.default(NATS_OUTBOX_DEFAULTS.outboxAgeMs),
  requestTimeoutMs: positive.default(2000),
  heartbeatMs: positive.default(2000),
  nodeTimeoutMs: positive.optional(),
  reconnectTimeWaitMs: positive.default(500),
  pingIntervalMs: positive.default(5000),
  connectTimeoutMs: positive.default(5000),
  connection: z.custom<Partial<ConnectionOptions>>((v) => v !== null && typeof v === 'object', 'must be an object of nats.js connection options').default({}),
});

const CONTEXT = 'invalid nats adapter options';

/** Splits `nats://a:4222,nats://b:4222` (the HERALD_NATS_URL form) into URLs. */
export function parseServers(value: string | string[]): string[] {
  const result = servers.safeParse(value);
  if (!result.success) throw new ConfigError(configIssues(result.error.issues, 'servers'), CONTEXT);
  return result.data;
}

/** Defaults filled in and every value checked; throws ConfigError naming each bad key. */
export function resolveNatsOptions(options: NatsAdapterOptions): ResolvedNatsOptions {
  const result = natsOptionsSchema.safeParse(options);
  if (!result.success) throw new ConfigError(configIssues(result.error.issues), CONTEXT);
  const o = result.data;
  return { ...o, stream: o.stream, nodeTimeoutMs: o.nodeTimeoutMs ?? 3 * o.heartbeatMs };
}
