/**
 * Configuration of the standalone binary, from four layers merged key by key:
 *
 *   defaults  <  config file (--config / HERALD_CONFIG)  <  environment (HERALD_*)  <  flags
 *
 * A later layer wins per key (a flag overrides the same key from the environment; the file fills
 * what neither gives). The merged result is validated with zod, and every error names the key and
 * where its value came from (`limits.maxPayload (env HERALD_LIMITS_MAX_PAYLOAD): ...`).
 * docs/configuration.md lists every key; test/ops/config.test.ts checks that it does.
 * Pure functions: nothing here starts a server.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { resolveOptions, type ResolvedOptions } from '../core/options.js';
import { ConfigError } from '../core/errors.js';
import { isPattern } from '../core/topic.js';
import type { Durability } from '../adapters/lmdb/index.js';
import { NATS_OUTBOX_DEFAULTS } from '../adapters/nats/options.js';
import { parseSecurity, type SecurityConfig } from './security.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A bad configuration: each line names a key, where its value came from, and what is wrong. */
export class ConfigProblem extends Error {
  readonly code = 'invalid_config';
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(problems.join('; '));
    this.problems = problems;
  }
}

type Kind = 'int' | 'string' | 'bool' | 'list';

/** One key of the binary's own settings: how env and flags spell it. */
export interface KeySpec {
  readonly key: string;
  readonly kind: Kind;
  /** Environment variables, first set one wins (aliases kept for compatibility). */
  readonly env: readonly string[];
  /** Flag name without dashes (a boolean flag sets true; `negate` flags set false). */
  readonly flag?: string;
  readonly negate?: boolean;
  readonly secret?: boolean;
}

/** MQTT transport bounds the binary passes through (transports/mqtt/options.ts checks them). */
const MQTT_BOUNDS = ['maxPacketSize', 'maxInflight', 'maxSessions', 'maxSessionExpiry', 'maxKeepalive', 'connectTimeout', 'maxRetained'] as const;

/** `maxPayload` -> `MAX_PAYLOAD`. */
function snake(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The binary's own keys (broker sections limits/history/presence/control are added from core's defaults). */
export const BINARY_KEYS: readonly KeySpec[] = [
  { key: 'port', kind: 'int', env: ['HERALD_PORT', 'PORT'], flag: 'port' },
  { key: 'host', kind: 'string', env: ['HERALD_HOST', 'HOST'], flag: 'host' },
  { key: 'logLevel', kind: 'string', env: ['HERALD_LOG_LEVEL'], flag: 'log-level' },
  { key: 'logFormat', kind: 'string', env: ['HERALD_LOG_FORMAT'], flag: 'log-format' },
  { key: 'nodeId', kind: 'string', env: ['HERALD_NODE_ID'], flag: 'node-id' },
  { key: 'shutdownTimeout', kind: 'int', env: ['HERALD_SHUTDOWN_TIMEOUT'], flag: 'shutdown-timeout' },
  { key: 'nats.servers', kind: 'list', env: ['HERALD_NATS_URL'], flag: 'nats' },
  { key: 'nats.prefix', kind: 'string', env: ['HERALD_NATS_PREFIX'], flag: 'nats-prefix' },
  { key: 'nats.outboxBytes', kind: 'int', env: ['HERALD_NATS_OUTBOX_BYTES'], flag: 'nats-outbox-bytes' },
  { key: 'nats.outboxAgeMs', kind: 'int', env: ['HERALD_NATS_OUTBOX_AGE_MS'], flag: 'nats-outbox-age-ms' },
  { key: 'security.jwtSecret', kind: 'string', env: ['HERALD_JWT_SECRET'], flag: 'jwt-secret', secret: true },
  { key: 'security.jwtPublicKey', kind: 'string', env: ['HERALD_JWT_PUBLIC_KEY'], flag: 'jwt-public-key' },
  { key: 'security.jwtAudience', kind: 'string', env: ['HERALD_JWT_AUDIENCE'], flag: 'jwt-audience' },
  { key: 'security.jwtIssuer', kind: 'string', env: ['HERALD_JWT_ISSUER'], flag: 'jwt-issuer' },
  // No flag on purpose: command lines show in `ps`.
  { key: 'security.apiKeys', kind: 'list', env: ['HERALD_API_KEY'], secret: true },
  { key: 'security.allowedOrigins', kind: 'list', env: ['HERALD_ALLOWED_ORIGINS'], flag: 'allowed-origins' },
  { key: 'security.tlsCert', kind: 'string', env: ['HERALD_TLS_CERT'], flag: 'tls-cert' },
  { key: 'security.tlsKey', kind: 'string', env: ['HERALD_TLS_KEY'], flag: 'tls-key' },
  { key: 'security.insecure', kind: 'bool', env: ['HERALD_INSECURE'], flag: 'insecure' },
  { key: 'dashboard.enabled', kind: 'bool', env: ['HERALD_DASHBOARD'], flag: 'no-dashboard', negate: true },
  { key: 'dashboard.statsTopic', kind: 'string', env: ['HERALD_DASHBOARD_STATS_TOPIC'], flag: 'stats-topic' },
  { key: 'dashboard.interval', kind: 'int', env: ['HERALD_DASHBOARD_INTERVAL'] },
  { key: 'metrics.enabled', kind: 'bool', env: ['HERALD_METRICS'], flag: 'no-metrics', negate: true },
  { key: 'mqtt.enabled', kind: 'bool', env: ['HERALD_MQTT'], flag: 'mqtt' },
  { key: 'mqtt.port', kind: 'int', env: ['HERALD_MQTT_PORT'], flag: 'mqtt-port' },
  ...MQTT_BOUNDS.map((name): KeySpec => ({ key: `mqtt.${name}`, kind: 'int', env: [`HERALD_MQTT_${snake(name)}`] })),
  // The binary keeps history on disk unless told otherwise (createBroker keeps it in memory unless given a store):
  // it makes the lmdb store from these two itself (core never loads a store, docs/architecture.md).
  { key: 'history.dir', kind: 'string', env: ['HERALD_DATA_DIR', 'HERALD_HISTORY_DIR'], flag: 'data-dir' },
  { key: 'history.durability', kind: 'string', env: ['HERALD_HISTORY_DURABILITY'] },
  { key: 'history.inMemory', kind: 'bool', env: ['HERALD_IN_MEMORY'], flag: 'in-memory' },
];

/** Where and how durably the binary keeps history on disk (herald/adapters/lmdb). */
export interface DiskHistory {
  readonly dir: string;
  readonly durability: Durability;
}

/** Where the binary keeps history when neither a directory, memory only, nor NATS is asked for (relative to the working directory). */
export const DEFAULT_DATA_DIR = './herald-data';

/** Broker option sections the binary passes through to createBroker(), with core's defaults. */
const BROKER_SECTIONS = ['limits', 'history', 'presence', 'control'] as const;
type BrokerSection = (typeof BROKER_SECTIONS)[number];

/** Defaults of the broker sections, straight from core/options.ts (the one place they live). */
export function brokerDefaults(): Pick<ResolvedOptions, BrokerSection> {
  const o = resolveOptions({ noServer: true });
  return { limits: o.limits, history: o.history, presence: o.presence, control: o.control };
}

/** Every key: the binary's own and one per broker option (env HERALD_<SECTION>_<KEY>, no flag). */
export function allKeys(): KeySpec[] {
  const keys = [...BINARY_KEYS];
  const defaults = brokerDefaults();
  for (const section of BROKER_SECTIONS) {
    for (const [name, value] of Object.entries(defaults[section])) {
      const kind: Kind = Array.isArray(value) ? 'list' : typeof value === 'boolean' ? 'bool' : typeof value === 'number' ? 'int' : 'string';
      keys.push({ key: `${section}.${name}`, kind, env: [`HERALD_${snake(section)}_${snake(name)}`] });
    }
  }
  return keys;
}

const natsUrl = z.string().refine((u) => /^(nats|tls|ws|wss):\/\/[^\s/]+\/?$/.test(u) || /^[^\s/:]+:\d+$/.test(u), {
  message: 'is not a NATS URL (nats://host:port)',
});
const subjectPrefix = /^[A-Za-z0-9_\-:@=+~]+(\.[A-Za-z0-9_\-:@=+~]+)*$/;
const optionalString = z.string().min(1).optional();

/** The binary's settings (broker sections are checked by core's own schema, see resolveConfig). */
const binarySchema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  /** 'auto': human-readable on a terminal, JSON lines otherwise. */
  logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
  nodeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1..64 of [A-Za-z0-9_-]').optional(),
  /** Milliseconds between SIGTERM/SIGINT and a forced exit. */
  shutdownTimeout: z.number().int().positive().default(10_000),
  nats: z.strictObject({
    servers: z.array(natsUrl).default([]),
    prefix: z.string().regex(subjectPrefix, 'must be dot-separated subject tokens').default('herald'),
    /** Bytes of publications that may wait for NATS during an outage (adapters/nats/outbox.ts). */
    outboxBytes: z.number().int().min(1).max(2 ** 31).default(NATS_OUTBOX_DEFAULTS.outboxBytes),
    /** Milliseconds one may wait there before it is refused with `unavailable`. */
    outboxAgeMs: z.number().int().min(1).max(24 * 3600 * 1000).default(NATS_OUTBOX_DEFAULTS.outboxAgeMs),
  }).default({ servers: [], prefix: 'herald', ...NATS_OUTBOX_DEFAULTS }),
  security: z.strictObject({
    jwtSecret: optionalString,
    jwtPublicKey: optionalString,
    jwtAudience: optionalString,
    jwtIssuer: optionalString,
    apiKeys: z.array(z.string()).default([]),
    allowedOrigins: z.array(z.string()).optional(),
    tlsCert: optionalString,
    tlsKey: optionalString,
    insecure: z.boolean().default(false),
  }).default({ apiKeys: [], insecure: false }),
  dashboard: z.strictObject({
    enabled: z.boolean().default(true),
    statsTopic: z.string().refine((t) => isPattern(t) && !/[*>]/.test(t), 'must be a topic (no wildcards)').default('herald.stats'),
    interval: z.number().int().min(100).default(1000),
  }).default({ enabled: true, statsTopic: 'herald.stats', interval: 1000 }),
  metrics: z.strictObject({ enabled: z.boolean().default(true) }).default({ enabled: true }),
  /** MQTT: WebSocket at /mqtt always; the TCP port when enabled (1883 unless `port` says otherwise). */
  mqtt: z.strictObject({
    enabled: z.boolean().default(false),
    port: z.number().int().min(0).max(65535).optional(),
    ...Object.fromEntries(MQTT_BOUNDS.map((name) => [name, z.number().int().min(0).optional()])) as Record<(typeof MQTT_BOUNDS)[number], z.ZodOptional<z.ZodNumber>>,
  }).default({ enabled: false }),
  limits: z.record(z.string(), z.unknown()).optional(),
  history: z.record(z.string(), z.unknown()).optional(),
  control: z.record(z.string(), z.unknown()).optional(),
  presence: z.record(z.string(), z.unknown()).optional(),
});

export type BinaryConfig = Omit<z.output<typeof binarySchema>, BrokerSection> & Pick<ResolvedOptions, BrokerSection> & {
  /** The config file read, if any. */
  configFile?: string;
  /** History on disk (config `history.dir`, `history.durability`); absent in memory or on NATS. */
  disk?: DiskHistory;
};

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Tree;
  node[parts[parts.length - 1]!] = value;
}

/** Leaves of a parsed JSON file (arrays are leaves), as dotted paths. */
function leaves(tree: unknown, prefix = ''): [string, unknown][] {
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree) || Object.keys(tree).length === 0) return [[prefix, tree]];
  return Object.entries(tree).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

/** Turns an env or flag string into the key's kind; undefined (with a problem noted) when it cannot. */
function convert(spec: KeySpec, text: string, source: string, problems: string[]): unknown {
  switch (spec.kind) {
    case 'string':
      return text;
    case 'list':
      return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    case 'int':
      if (/^\d+$/.test(text.trim())) return Number(text.trim());
      problems.push(`${spec.key} (${source}): expected a non-negative integer, got ${JSON.stringify(text)}`);
      return undefined;
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off)$/i.test(text)) return false;
      problems.push(`${spec.key} (${source}): expected true or false, got ${JSON.stringify(text)}`);
      return undefined;
  }
}

export interface ConfigInput {
  /** Parsed flag values (node:util parseArgs), by flag name. */
  flags: Record<string, string | boolean | undefined>;
  env: NodeJS.ProcessEnv;
  /** Directory the config file path is relative to (default process.cwd()). */
  cwd?: string;
  /** Reads the config file (tests pass their own). */
  readFile?: (path: string) => string;
}

/** Merges the four layers and validates; throws ConfigProblem naming every bad key. */
export function resolveConfig(input: ConfigInput): BinaryConfig {
  const { flags, env } = input;
  const problems: string[] = [];
  const merged: Tree = {};
  const sources = new Map<string, string>();
  const put = (key: string, value: unknown, source: string): void => {
    setPath(merged, key, value);
    sources.set(key, source);
  };

  // 1. the config file
  const fileFlag = flags.config as string | undefined;
  const filePath = fileFlag || env.HERALD_CONFIG || undefined;
  let configFile: string | undefined;
  if (filePath !== undefined) {
    configFile = resolve(input.cwd ?? process.cwd(), filePath);
    let parsed: unknown;
    try {
      parsed = JSON.parse((input.readFile ?? ((p) => readFileSync(p, 'utf8')))(configFile));
    } catch (err) {
      throw new ConfigProblem([`config file ${filePath}: ${(err as Error).message}`]);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigProblem([`config file ${filePath}: must hold a JSON object`]);
    const keys = new Map(allKeys().map((k) => [k.key, k]));
    for (const [path, value] of leaves(parsed)) {
      const spec = keys.get(path);
      // A list given as "a,b" in a file is accepted like in env; anything else is checked by the schema.
      put(path, spec?.kind === 'list' && typeof value === 'string' ? convert(spec, value, filePath, problems) : value, `file ${filePath}`);
    }
  }

  // 2. the environment, 3. flags
  const specs = allKeys();
  for (const spec of specs) {
    const name = spec.env.find((e) => env[e] !== undefined && env[e] !== '');
    if (name !== undefined) {
      const value = convert(spec, env[name]!, `env ${name}`, problems);
      if (value !== undefined) put(spec.key, value, `env ${name}`);
    }
  }
  for (const spec of specs) {
    if (spec.flag === undefined) continue;
    const raw = flags[spec.flag];
    if (raw === undefined || raw === '') continue;
    const source = `--${spec.flag}`;
    const value = typeof raw === 'boolean' ? (spec.negate ? !raw : raw) : convert(spec, raw, source, problems);
    if (value !== undefined) put(spec.key, value, source);
  }
  if (problems.length > 0) throw new ConfigProblem(problems);

  const where = (path: string): string => {
    const source = sources.get(path) ?? [...sources].find(([k]) => k.startsWith(`${path}.`) || path.startsWith(`${k}.`))?.[1];
    return source === undefined ? path : `${path} (${source})`;
  };

  // Validate: the binary's keys with its schema, the broker sections with core's own.
  // Every problem is reported at once, not only the first.
  const result = binarySchema.safeParse(merged);
  if (!result.success) {
    for (const i of result.error.issues) {
      const path = i.path.join('.');
      if (i.code === 'unrecognized_keys') for (const k of i.keys) problems.push(`${where(path ? `${path}.${k}` : k)}: unknown key`);
      else problems.push(`${where(path || '(root)')}: ${i.message}`);
    }
  }
  const defaults = brokerDefaults();
  const sections: Partial<Record<BrokerSection, Tree>> = {};
  for (const section of BROKER_SECTIONS) {
    const given = merged[section];
    if (given === undefined || given === null || typeof given !== 'object' || Array.isArray(given)) continue;
    for (const k of Object.keys(given)) {
      if (!(k in defaults[section]) && !BINARY_KEYS.some((b) => b.key === `${section}.${k}`)) problems.push(`${where(`${section}.${k}`)}: unknown key`);
    }
    sections[section] = given as Tree;
  }
  const { inMemory, dir, durability = 'commit', ...history } = (sections.history ?? {}) as Tree & { inMemory?: unknown; dir?: unknown; durability?: unknown };
  if (inMemory !== undefined && typeof inMemory !== 'boolean') problems.push(`${where('history.inMemory')}: expected true or false`);
  if (durability !== 'commit' && durability !== 'flush') problems.push(`${where('history.durability')}: expected commit or flush`);
  const clustered = Array.isArray(result.data?.nats.servers) && result.data.nats.servers.length > 0;
  // On NATS the history is JetStream's: a data directory (say, a HERALD_DATA_DIR exported for single nodes) has no use.
  const disk: DiskHistory | undefined = inMemory !== true && !clustered
    ? { dir: resolve(input.cwd ?? process.cwd(), typeof dir === 'string' ? dir : DEFAULT_DATA_DIR), durability: durability as Durability }
    : undefined;
  sections.history = history;
  let broker: ResolvedOptions | undefined;
  try {
    broker = resolveOptions({ noServer: true, ...sections } as Parameters<typeof resolveOptions>[0]);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const i of err.issues) problems.push(`${where(i.path)}: ${i.message}`);
  }
  if (problems.length > 0 || !result.success || broker === undefined) throw new ConfigProblem(problems);
  const config = result.data;

  // Security rules that span keys (one of secret/public key, key lengths, origins) stay in security.ts.
  try {
    parseSecurity(securityFlags(config.security), { HERALD_API_KEY: config.security.apiKeys.join(',') });
  } catch (err) {
    throw new ConfigProblem([`security: ${(err as Error).message}`]);
  }
  return { ...config, limits: broker.limits, history: broker.history, presence: broker.presence, control: broker.control, ...(disk ? { disk } : {}), ...(configFile ? { configFile } : {}) };
}

/** The merged security section as security.ts's flag values (it validates and normalises them). */
function securityFlags(s: BinaryConfig['security']): Record<string, string | boolean | undefined> {
  return {
    'jwt-secret': s.jwtSecret, 'jwt-public-key': s.jwtPublicKey, 'jwt-audience': s.jwtAudience, 'jwt-issuer': s.jwtIssuer,
    'allowed-origins': s.allowedOrigins?.join(','), 'tls-cert': s.tlsCert, 'tls-key': s.tlsKey, insecure: s.insecure,
  };
}

/** The security section in security.ts's shape. */
export function securityOf(config: BinaryConfig): SecurityConfig {
  return parseSecurity(securityFlags(config.security), { HERALD_API_KEY: config.security.apiKeys.join(',') });
}

/** Environment variables the binary reads besides the keys' own. */
const OTHER_ENV = ['HERALD_CONFIG'];

/**
 * `HERALD_*` variables that no key reads (a typo such as HERALD_JWT_SECRT would otherwise leave a
 * broker open without a word), each with the closest known name when one is near.
 */
export function unknownEnv(env: NodeJS.ProcessEnv): { name: string; suggestion?: string }[] {
  const known = [...OTHER_ENV, ...allKeys().flatMap((k) => k.env.filter((e) => e.startsWith('HERALD_')))];
  const set = new Set(known);
  return Object.keys(env).filter((name) => name.startsWith('HERALD_') && !set.has(name)).sort().map((name) => {
    let best: string | undefined;
    let distance = Math.max(3, Math.floor(name.length / 4)) + 1;
    for (const k of known) {
      const d = editDistance(name, k);
      if (d < distance) { distance = d; best = k; }
    }
    return best === undefined ? { name } : { name, suggestion: best };
  });
}

/** Levenshtein distance, for suggestions only (names are short; two rows suffice). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

/** The resolved configuration as `herald check-config` prints it: secrets replaced. */
export function redacted(config: BinaryConfig): BinaryConfig {
  const hide = (v: string | undefined) => (v === undefined ? undefined : '<redacted>');
  return {
    ...config,
    security: { ...config.security, jwtSecret: hide(config.security.jwtSecret), apiKeys: config.security.apiKeys.map(() => '<redacted>') },
  };
}
