/**
 * Options of the NATS adapter. Everything has a default chosen for a broker that must ride out NATS
 * restarts and failovers: reconnect forever, notice a dead connection within a few seconds, bound
 * every wait so a publish or a subscribe never hangs on a NATS outage.
 */
import type { ConnectionOptions } from '@nats-io/transport-node';

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

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`nats adapter: ${name} must be a positive number, got ${String(value)}`);
  return v;
}

/** Splits `nats://a:4222,nats://b:4222` (the HERALD_NATS_URL form) into URLs. */
export function parseServers(value: string | string[]): string[] {
  const list = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  if (list.length === 0) throw new Error('nats adapter: servers must name at least one URL');
  return list;
}

export function resolveNatsOptions(options: NatsAdapterOptions): ResolvedNatsOptions {
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs, 2000);
  const replicas = options.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new Error(`nats adapter: replicas must be 1..5, got ${replicas}`);
  return {
    servers: parseServers(options.servers ?? 'nats://127.0.0.1:4222'),
    prefix: options.prefix ?? 'herald',
    stream: options.stream,
    storage: options.storage ?? 'file',
    replicas,
    publishTimeoutMs: positive('publishTimeoutMs', options.publishTimeoutMs, 10_000),
    outboxBytes: positive('outboxBytes', options.outboxBytes, NATS_OUTBOX_DEFAULTS.outboxBytes),
    outboxAgeMs: positive('outboxAgeMs', options.outboxAgeMs, NATS_OUTBOX_DEFAULTS.outboxAgeMs),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 2000),
    heartbeatMs,
    nodeTimeoutMs: positive('nodeTimeoutMs', options.nodeTimeoutMs, 3 * heartbeatMs),
    reconnectTimeWaitMs: positive('reconnectTimeWaitMs', options.reconnectTimeWaitMs, 500),
    pingIntervalMs: positive('pingIntervalMs', options.pingIntervalMs, 5000),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 5000),
    connection: options.connection ?? {},
  };
}
