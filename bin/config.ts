/**
 * Configuration of the standalone binary. Every setting is declared once, in SETTINGS: its config
 * file key, its kind, its `HERALD_*` variables, its flag, its --help line and its zod schema (with
 * the default). From that one table come the node:util parseArgs options and the --help text
 * (cli.ts), the environment names (and the typo check on `HERALD_*`), the validation, and the
 * docs/configuration.md table that test/ops/config.test.ts pins against it. Four layers merge key
 * by key:
 *
 *   defaults  <  config file (--config / HERALD_CONFIG)  <  environment (HERALD_*)  <  flags
 *
 * A later layer wins per key. The merged tree is validated once, with zod: the binary's own keys by
 * the schemas of this table, the broker sections (limits, history, presence, control) by core's
 * own (core/options.ts). A bad value throws ConfigError naming the key and where its value came
 * from (`limits.maxPayload (env HERALD_LIMITS_MAX_PAYLOAD): ...`). Pure functions: nothing here
 * starts a server.
 *
 * Why no layering library (convict, nconf, rc, c12): each brings its own schema language or
 * argument parser, which would duplicate zod (core's options are zod) and parseArgs; the layering
 * left once those two do the parsing and the checking is the merge below, which also keeps each
 * value's source for the error line.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { distance } from 'fastest-levenshtein';
import { z } from 'zod';
import { ConfigError, SetupError, type ConfigIssue } from '../core/errors.js';
import { resolveOptions, type ResolvedOptions } from '../core/options.js';
import { normaliseOrigin } from '../core/origins.js';
import { isTopic, NAME_TOKEN } from '../core/topic.js';
import type { Durability } from '../adapters/lmdb/index.js';
import { NATS_OUTBOX_DEFAULTS, natsPrefix } from '../adapters/nats/options.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** How an environment or flag string becomes a value. */
export type Kind = 'int' | 'string' | 'bool' | 'list';

/** One setting of the binary. */
export interface Setting {
  /** Config file key, dotted (`limits.maxPayload`). */
  readonly key: string;
  readonly kind: Kind;
  /** Environment variables, first set one wins (aliases kept for compatibility). */
  readonly env: readonly string[];
  /** Flag name without dashes (a boolean flag sets true; `negate` flags set false). */
  readonly flag?: string;
  readonly negate?: boolean;
  /** --help: the flag's argument, and what the setting does. Settings without `help` are listed in docs/configuration.md only. */
  readonly arg?: string;
  readonly help?: string;
  /** --help: the default when the schema has none to show (`random`). */
  readonly shownDefault?: string;
  /** --help section. */
  readonly group?: 'security';
  /** Validation and default of the binary's own settings; the broker sections' are core's. */
  readonly schema?: z.ZodType;
}

/** `maxPayload` -> `MAX_PAYLOAD`, `nats.outboxBytes` -> `NATS_OUTBOX_BYTES`. */
function snake(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/\./g, '_').toUpperCase();
}

type Declared = Omit<Setting, 'env'> & { env?: readonly string[] };

/** A setting whose environment variable is `HERALD_<KEY IN SNAKE CASE>` unless it says otherwise. */
function setting(s: Declared): Setting {
  return { ...s, env: s.env ?? [`HERALD_${snake(s.key)}`] };
}

const natsUrl = z.string().refine((u) => /^(nats|tls|ws|wss):\/\/[^\s/]+\/?$/.test(u) || /^[^\s/:]+:\d+$/.test(u), {
  message: 'is not a NATS URL (nats://host:port)',
});
const optionalString = z.string().min(1).optional();
const port = z.number().int().min(0).max(65535);
const origin = z.string().refine((o) => normaliseOrigin(o) !== undefined, { error: (i) => `${JSON.stringify(i.input)} is not an origin (scheme://host[:port])` });

/** MQTT transport bounds the binary passes through (transports/mqtt/options.ts checks them). */
const MQTT_BOUNDS = ['maxPacketSize', 'maxInflight', 'maxSessions', 'maxSessionExpiry', 'maxKeepalive', 'connectTimeout', 'maxRetained'] as const;

/** Where the binary keeps history when neither a directory, memory only, nor NATS is asked for (relative to the working directory). */
export const DEFAULT_DATA_DIR = './herald-data';

/** The binary's own settings, in --help and docs order (broker sections are added from core's defaults, see allSettings). */
export const SETTINGS: readonly Setting[] = [
  setting({ key: 'port', kind: 'int', env: ['HERALD_PORT', 'PORT'], flag: 'port', arg: '<n>', help: 'port to listen on', schema: port.default(8080) }),
  setting({ key: 'host', kind: 'string', env: ['HERALD_HOST', 'HOST'], flag: 'host', arg: '<addr>', help: 'interface to bind', schema: z.string().min(1).default('127.0.0.1') }),
  setting({ key: 'logLevel', kind: 'string', flag: 'log-level', arg: '<l>', help: LOG_LEVELS.join('|'), schema: z.enum(LOG_LEVELS).default('info') }),
  setting({
    key: 'logFormat', kind: 'string', flag: 'log-format', arg: '<f>', help: 'auto|pretty|json: auto is readable on a terminal, JSON lines otherwise',
    schema: z.enum(['auto', 'pretty', 'json']).default('auto'),
  }),
  setting({
    key: 'nats.servers', kind: 'list', env: ['HERALD_NATS_URL'], flag: 'nats', arg: '<urls>', shownDefault: 'single node, history on disk',
    help: 'join a cluster over NATS: comma-separated nats:// URLs; history needs JetStream (nats-server -js)', schema: z.array(natsUrl).default([]),
  }),
  setting({
    key: 'nats.prefix', kind: 'string', flag: 'nats-prefix', arg: '<p>', help: 'subject prefix shared by the nodes of one cluster',
    schema: natsPrefix.default('herald'),
  }),
  setting({
    key: 'nats.outboxBytes', kind: 'int', flag: 'nats-outbox-bytes', arg: '<n>',
    help: 'bytes of publications that may wait while NATS is unreachable; past it a publish is refused with unavailable',
    schema: z.number().int().min(1).max(2 ** 31).default(NATS_OUTBOX_DEFAULTS.outboxBytes),
  }),
  setting({
    key: 'nats.outboxAgeMs', kind: 'int', flag: 'nats-outbox-age-ms', arg: '<ms>', help: 'how long one may wait there before it is refused',
    schema: z.number().int().min(1).max(24 * 3600 * 1000).default(NATS_OUTBOX_DEFAULTS.outboxAgeMs),
  }),
  // The binary keeps history on disk unless told otherwise (createBroker keeps it in memory unless given a store):
  // it makes the lmdb store from history.dir and history.durability itself (core never loads a store, docs/architecture.md).
  setting({
    key: 'history.dir', kind: 'string', env: ['HERALD_DATA_DIR', 'HERALD_HISTORY_DIR'], flag: 'data-dir', arg: '<dir>', shownDefault: DEFAULT_DATA_DIR,
    help: 'keep history on disk here, so a restart keeps positions',
    schema: z.string().min(1).optional(),
  }),
  setting({
    key: 'history.durability', kind: 'string', env: ['HERALD_HISTORY_DURABILITY'],
    help: "with a data directory, when a publish is acknowledged: 'commit' (written to the OS, fsync each second) or 'flush' (on disk)",
    shownDefault: 'commit', schema: z.enum(['commit', 'flush']).optional(),
  }),
  setting({
    key: 'history.inMemory', kind: 'bool', env: ['HERALD_IN_MEMORY'], flag: 'in-memory', help: 'keep history in memory only: a restart starts every topic over',
    schema: z.boolean().optional(),
  }),
  setting({ key: 'nodeId', kind: 'string', flag: 'node-id', arg: '<id>', help: "this node's id", shownDefault: 'random', schema: z.string().regex(NAME_TOKEN, 'must be 1..64 of [A-Za-z0-9_-]').optional() }),
  setting({
    key: 'shutdownTimeout', kind: 'int', flag: 'shutdown-timeout', arg: '<ms>', help: 'forced exit this long after SIGTERM',
    schema: z.number().int().positive().default(10_000),
  }),
  setting({
    key: 'dashboard.enabled', kind: 'bool', env: ['HERALD_DASHBOARD'], flag: 'no-dashboard', negate: true, help: 'do not serve the live dashboard at / nor publish stats',
    schema: z.boolean().default(true),
  }),
  setting({
    key: 'dashboard.statsTopic', kind: 'string', flag: 'stats-topic', arg: '<t>', help: "the dashboard's stats go to <t>.<node id>",
    schema: z.string().refine((t) => isTopic(t), 'must be a topic (no wildcards)').default('herald.stats'),
  }),
  setting({ key: 'dashboard.interval', kind: 'int', schema: z.number().int().min(100).default(1000) }),
  setting({ key: 'metrics.enabled', kind: 'bool', env: ['HERALD_METRICS'], flag: 'no-metrics', negate: true, help: 'do not serve /metrics and /readyz', schema: z.boolean().default(true) }),
  setting({
    key: 'mqtt.enabled', kind: 'bool', env: ['HERALD_MQTT'], flag: 'mqtt', help: 'also serve MQTT over TCP on port 1883; MQTT over WebSocket is always at /mqtt',
    schema: z.boolean().default(false),
  }),
  setting({ key: 'mqtt.port', kind: 'int', flag: 'mqtt-port', arg: '<n>', help: 'serve MQTT over TCP on this port (implies --mqtt)', schema: port.optional() }),
  ...MQTT_BOUNDS.map((name) => setting({ key: `mqtt.${name}`, kind: 'int', schema: z.number().int().min(0).optional() })),
  setting({
    key: 'security.jwtSecret', kind: 'string', env: ['HERALD_JWT_SECRET'], flag: 'jwt-secret', arg: '<s>', group: 'security', help: 'HMAC secret for HS256 client tokens, >= 32 bytes',
    schema: z.string().refine((s) => Buffer.byteLength(s) >= 32, 'must be at least 32 bytes').optional(),
  }),
  setting({
    key: 'security.jwtPublicKey', kind: 'string', env: ['HERALD_JWT_PUBLIC_KEY'], flag: 'jwt-public-key', arg: '<pem>', group: 'security',
    help: 'PEM public key or a path to one, RS256/ES256', schema: optionalString,
  }),
  setting({ key: 'security.jwtAudience', kind: 'string', env: ['HERALD_JWT_AUDIENCE'], flag: 'jwt-audience', arg: '<aud>', group: 'security', help: 'required token aud', schema: optionalString }),
  setting({ key: 'security.jwtIssuer', kind: 'string', env: ['HERALD_JWT_ISSUER'], flag: 'jwt-issuer', arg: '<iss>', group: 'security', help: 'required token iss', schema: optionalString }),
  // No flag on purpose: command lines show in `ps`.
  setting({
    key: 'security.apiKeys', kind: 'list', env: ['HERALD_API_KEY'], group: 'security', help: 'comma-separated API keys for the HTTP API (env only: flags show in ps)',
    schema: z.array(z.string().min(16, 'each HERALD_API_KEY must be at least 16 characters')).default([]),
  }),
  setting({
    key: 'security.allowedOrigins', kind: 'list', env: ['HERALD_ALLOWED_ORIGINS'], flag: 'allowed-origins', arg: '<l>', group: 'security',
    help: 'comma-separated browser origins allowed to connect', schema: z.array(origin).optional(),
  }),
  setting({ key: 'security.tlsCert', kind: 'string', env: ['HERALD_TLS_CERT'], flag: 'tls-cert', arg: '<file>', group: 'security', help: 'PEM certificate chain: serve https/wss', schema: optionalString }),
  setting({ key: 'security.tlsKey', kind: 'string', env: ['HERALD_TLS_KEY'], flag: 'tls-key', arg: '<file>', group: 'security', help: 'PEM private key', schema: optionalString }),
  setting({
    key: 'security.insecure', kind: 'bool', env: ['HERALD_INSECURE'], flag: 'insecure', group: 'security', help: 'allow anonymous clients on a non-loopback interface',
    schema: z.boolean().default(false),
  }),
];

/** Broker option sections the binary passes through to createBroker(), with core's defaults. */
const BROKER_SECTIONS = ['limits', 'history', 'presence', 'control'] as const;
type BrokerSection = (typeof BROKER_SECTIONS)[number];

/** Defaults of the broker sections, straight from core/options.ts (the one place they live). */
export function brokerDefaults(): Pick<ResolvedOptions, BrokerSection> {
  const o = resolveOptions({ noServer: true });
  return { limits: o.limits, history: o.history, presence: o.presence, control: o.control };
}

/** Every setting: the binary's own and one per broker option (env HERALD_<SECTION>_<KEY>, no flag). */
export function allSettings(): Setting[] {
  const settings = [...SETTINGS];
  const defaults = brokerDefaults();
  for (const section of BROKER_SECTIONS) {
    for (const [name, value] of Object.entries(defaults[section])) {
      // An object, not a setting: the binary makes the store itself from history.dir and history.durability.
      if (`${section}.${name}` === 'history.store') continue;
      const kind: Kind = Array.isArray(value) ? 'list' : typeof value === 'boolean' ? 'bool' : typeof value === 'number' ? 'int' : 'string';
      settings.push(setting({ key: `${section}.${name}`, kind }));
    }
  }
  return settings;
}

/** The node:util parseArgs options of every flag, plus --config and -h/--help. */
export function parseArgsOptions(): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
  for (const s of SETTINGS) if (s.flag !== undefined) options[s.flag] = { type: s.kind === 'bool' ? 'boolean' : 'string' };
  return options;
}

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Tree;
  node[parts[parts.length - 1]!] = value;
}

function getPath(tree: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, p) => (node !== null && typeof node === 'object' ? (node as Tree)[p] : undefined), tree);
}

/**
 * The binary's schema, made from the table: one strict object per section (unknown keys are
 * errors), each filled with its defaults when absent; the broker sections are checked by core.
 */
function binarySchema() {
  const top: Record<string, z.ZodType> = {};
  const sections: Record<string, Record<string, z.ZodType>> = {};
  for (const s of SETTINGS) {
    if (s.schema === undefined) continue;
    const [first, name] = s.key.split('.') as [string, string | undefined];
    if (name === undefined) top[first] = s.schema;
    else (sections[first] ??= {})[name] = s.schema;
  }
  for (const [name, shape] of Object.entries(sections)) {
    if (!(BROKER_SECTIONS as readonly string[]).includes(name)) top[name] = z.strictObject(shape).prefault({});
  }
  for (const section of BROKER_SECTIONS) top[section] = z.record(z.string(), z.unknown()).optional();
  return z.strictObject(top).superRefine((c, ctx) => {
    const s = (c as { security?: Tree }).security;
    // Rules spanning keys; each key's own rule is in its schema.
    if (s?.jwtSecret !== undefined && s.jwtPublicKey !== undefined) ctx.addIssue({ code: 'custom', path: ['security'], message: 'give one of --jwt-secret and --jwt-public-key, not both' });
    if (s !== undefined && (s.tlsCert === undefined) !== (s.tlsKey === undefined)) ctx.addIssue({ code: 'custom', path: ['security'], message: '--tls-cert and --tls-key go together' });
  });
}

/** What the binary's own settings are once parsed (typed by hand: the schema is built from the table). */
interface BinarySettings {
  port: number;
  host: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** 'auto': human-readable on a terminal, JSON lines otherwise. */
  logFormat: 'auto' | 'pretty' | 'json';
  nodeId?: string;
  /** Milliseconds between SIGTERM/SIGINT and a forced exit. */
  shutdownTimeout: number;
  nats: {
    servers: string[];
    prefix: string;
    /** Bytes of publications that may wait for NATS during an outage (adapters/nats/outbox.ts). */
    outboxBytes: number;
    /** Milliseconds one may wait there before it is refused with `unavailable`. */
    outboxAgeMs: number;
  };
  security: SecurityConfig;
  dashboard: { enabled: boolean; statsTopic: string; interval: number };
  metrics: { enabled: boolean };
  /** MQTT: WebSocket at /mqtt always; the TCP port when enabled (1883 unless `port` says otherwise). */
  mqtt: { enabled: boolean; port?: number } & Partial<Record<(typeof MQTT_BOUNDS)[number], number>>;
}

/** The security section (bin/security.ts turns it into broker options). */
export interface SecurityConfig {
  jwtSecret?: string;
  jwtPublicKey?: string;
  jwtAudience?: string;
  jwtIssuer?: string;
  apiKeys: string[];
  allowedOrigins?: string[];
  tlsCert?: string;
  tlsKey?: string;
  insecure: boolean;
}

/** Where and how durably the binary keeps history on disk (herald/adapters/lmdb). */
export interface DiskHistory {
  readonly dir: string;
  readonly durability: Durability;
}

export type BinaryConfig = BinarySettings & Pick<ResolvedOptions, BrokerSection> & {
  /** The config file read, if any. */
  configFile?: string;
  /** History on disk (config `history.dir`, `history.durability`); absent in memory or on NATS. */
  disk?: DiskHistory;
};

/** Leaves of a parsed JSON file (arrays are leaves), as dotted paths. */
function leaves(tree: unknown, prefix = ''): [string, unknown][] {
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree) || Object.keys(tree).length === 0) return [[prefix, tree]];
  return Object.entries(tree).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

/** Turns an env or flag string into the setting's kind; undefined (with an issue noted) when it cannot. */
function convert(s: Setting, text: string, source: string, issues: ConfigIssue[]): unknown {
  switch (s.kind) {
    case 'string':
      return text;
    case 'list':
      return text.split(',').map((v) => v.trim()).filter((v) => v !== '');
    case 'int':
      if (/^\d+$/.test(text.trim())) return Number(text.trim());
      issues.push({ path: s.key, source, message: `expected a non-negative integer, got ${JSON.stringify(text)}` });
      return undefined;
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(text)) return true;
      if (/^(0|false|no|off)$/i.test(text)) return false;
      issues.push({ path: s.key, source, message: `expected true or false, got ${JSON.stringify(text)}` });
      return undefined;
  }
}

export interface ConfigInput {
  /** Parsed flag values (node:util parseArgs with parseArgsOptions()), by flag name. */
  flags: Record<string, string | boolean | undefined>;
  env: NodeJS.ProcessEnv;
  /** Directory the config file path is relative to (default process.cwd()). */
  cwd?: string;
  /** Reads the config file (tests pass their own). */
  readFile?: (path: string) => string;
}

const CONTEXT = 'invalid configuration';

/** Merges the four layers and validates; throws ConfigError naming every bad key and its source. */
export function resolveConfig(input: ConfigInput): BinaryConfig {
  const { flags, env } = input;
  const settings = allSettings();
  const issues: ConfigIssue[] = [];
  const merged: Tree = {};
  const sources = new Map<string, string>();
  const put = (key: string, value: unknown, source: string): void => {
    setPath(merged, key, value);
    sources.set(key, source);
  };

  // 1. the config file
  const filePath = (flags.config as string | undefined) || env.HERALD_CONFIG || undefined;
  let configFile: string | undefined;
  if (filePath !== undefined) {
    configFile = resolve(input.cwd ?? process.cwd(), filePath);
    const fileIssue = (message: string) => new ConfigError([{ path: '', source: `config file ${filePath}`, message }], CONTEXT);
    let parsed: unknown;
    try {
      parsed = JSON.parse((input.readFile ?? ((p) => readFileSync(p, 'utf8')))(configFile));
    } catch (err) {
      throw fileIssue((err as Error).message);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw fileIssue('must hold a JSON object');
    const byKey = new Map(settings.map((s) => [s.key, s]));
    for (const [path, value] of leaves(parsed)) {
      const s = byKey.get(path);
      // A list given as "a,b" in a file is accepted like in env; anything else is checked by the schema.
      put(path, s?.kind === 'list' && typeof value === 'string' ? convert(s, value, `file ${filePath}`, issues) : value, `file ${filePath}`);
    }
  }

  // 2. the environment, 3. flags
  for (const s of settings) {
    const name = s.env.find((e) => env[e] !== undefined && env[e] !== '');
    if (name === undefined) continue;
    const value = convert(s, env[name]!, `env ${name}`, issues);
    if (value !== undefined) put(s.key, value, `env ${name}`);
  }
  for (const s of settings) {
    const raw = s.flag === undefined ? undefined : flags[s.flag];
    if (raw === undefined || raw === '') continue;
    const source = `--${s.flag}`;
    const value = typeof raw === 'boolean' ? (s.negate ? !raw : raw) : convert(s, raw, source, issues);
    if (value !== undefined) put(s.key, value, source);
  }
  // Conversion errors alone: the rest cannot be checked without the values.
  if (issues.length > 0) throw new ConfigError(issues, CONTEXT);

  const sourceOf = (path: string): string | undefined =>
    sources.get(path) ?? [...sources].find(([k]) => k.startsWith(`${path}.`) || path.startsWith(`${k}.`))?.[1];
  const issue = (path: string, message: string): ConfigIssue => {
    const source = sourceOf(path);
    return source === undefined ? { path, message } : { path, source, message };
  };

  // Validate: the binary's keys with the table's schemas, the broker sections with core's own.
  // Every problem is reported at once, not only the first.
  const result = binarySchema().safeParse(merged);
  if (!result.success) {
    for (const i of result.error.issues) {
      const path = i.path.join('.');
      if (i.code === 'unrecognized_keys') for (const k of i.keys) issues.push(issue(path ? `${path}.${k}` : k, 'unknown key'));
      else issues.push(issue(path || '(root)', i.message));
    }
  }
  const defaults = brokerDefaults();
  const sections: Partial<Record<BrokerSection, Tree>> = {};
  for (const section of BROKER_SECTIONS) {
    const given = merged[section];
    if (given === undefined || given === null || typeof given !== 'object' || Array.isArray(given)) continue;
    for (const k of Object.keys(given)) {
      if (!(k in defaults[section]) && !SETTINGS.some((s) => s.key === `${section}.${k}`)) issues.push(issue(`${section}.${k}`, 'unknown key'));
    }
    sections[section] = given as Tree;
  }
  // The binary's own keys inside a broker section (history.inMemory) have their schema in the table too.
  for (const s of SETTINGS) {
    const value = getPath(merged, s.key);
    if (s.schema === undefined || value === undefined || !(BROKER_SECTIONS as readonly string[]).includes(s.key.split('.')[0]!)) continue;
    const checked = s.schema.safeParse(value);
    if (!checked.success) for (const i of checked.error.issues) issues.push(issue(s.key, i.message));
  }
  const { inMemory, dir, durability = 'commit', ...history } = (sections.history ?? {}) as Tree & { inMemory?: unknown; dir?: unknown; durability?: unknown };
  const clustered = (getPath(result.data, 'nats.servers') as string[] | undefined ?? []).length > 0;
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
    for (const i of err.issues) issues.push(issue(i.path, i.message));
  }
  if (issues.length > 0 || !result.success || broker === undefined) throw new ConfigError(issues, CONTEXT);
  const { limits: _l, history: _h, presence: _p, control: _c, ...config } = result.data as unknown as BinarySettings & Tree;
  return { ...(config as BinarySettings), limits: broker.limits, history: broker.history, presence: broker.presence, control: broker.control, ...(disk ? { disk } : {}), ...(configFile ? { configFile } : {}) };
}

/** Environment variables the binary reads besides the settings' own. */
const OTHER_ENV = ['HERALD_CONFIG'];

/** A `HERALD_*` variable that no setting reads (code `unknown_env`), with the nearest known name when one is near. */
export class UnknownEnvVariable extends SetupError {
  constructor(readonly variable: string, readonly suggestion: string | undefined) {
    super('unknown_env', `unknown environment variable ${variable} is ignored${suggestion ? ` (did you mean ${suggestion}?)` : ''}`);
    this.name = 'UnknownEnvVariable';
  }
}

/**
 * `HERALD_*` variables that no setting reads: a typo such as HERALD_JWT_SECRT would otherwise leave
 * a broker open without a word. A suggestion is the known name fewest edits away, when it is near.
 */
export function unknownEnv(env: NodeJS.ProcessEnv): UnknownEnvVariable[] {
  const known = [...OTHER_ENV, ...allSettings().flatMap((s) => s.env.filter((e) => e.startsWith('HERALD_')))];
  const set = new Set(known);
  return Object.keys(env).filter((name) => name.startsWith('HERALD_') && !set.has(name)).sort().map((name) => {
    let best: string | undefined;
    let nearest = Math.max(3, Math.floor(name.length / 4)) + 1;
    for (const k of known) {
      const d = distance(name, k);
      if (d < nearest) { nearest = d; best = k; }
    }
    return new UnknownEnvVariable(name, best);
  });
}

/** The resolved configuration as `herald check-config` prints it: secrets replaced. */
export function redacted(config: BinaryConfig): BinaryConfig {
  const hide = (v: string | undefined) => (v === undefined ? undefined : '<redacted>');
  return {
    ...config,
    security: { ...config.security, jwtSecret: hide(config.security.jwtSecret), apiKeys: config.security.apiKeys.map(() => '<redacted>') },
  };
}

/** The default --help shows for a setting: the schema's, else what the setting says. */
export function shownDefault(s: Setting): string | undefined {
  if (s.shownDefault !== undefined) return s.shownDefault;
  const parsed = s.schema?.safeParse(undefined);
  const value = parsed?.success ? parsed.data : undefined;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  return Array.isArray(value) ? value.join(',') : String(value);
}
