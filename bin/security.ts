/**
 * Security settings of the standalone binary (docs/security.md): JWT keys, API keys, allowed
 * origins, TLS, and the secure default: with no authentication configured, anonymous clients are
 * served only while bound to loopback; another interface needs an explicit `--insecure`.
 * Precedence as in cli.ts: flag > environment > default. Pure functions, testable without a server.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { BrokerOptions, Hooks } from '../core/index.js';
import { apiKeyChecker, jwtAuth, type ApiKeyCheck } from '../core/auth/index.js';
import { normaliseOrigin } from '../core/origins.js';

/** Options for node:util parseArgs, merged into cli.ts's table. */
export const SECURITY_OPTIONS = {
  'jwt-secret': { type: 'string' },
  'jwt-public-key': { type: 'string' },
  'jwt-audience': { type: 'string' },
  'jwt-issuer': { type: 'string' },
  'allowed-origins': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  insecure: { type: 'boolean' },
} as const;

export const SECURITY_HELP = `Security (docs/security.md):
  --jwt-secret <s>        HMAC secret for HS256 client tokens, >= 32 bytes (env HERALD_JWT_SECRET)
  --jwt-public-key <pem>  PEM public key or a path to one, RS256/ES256 (env HERALD_JWT_PUBLIC_KEY)
  --jwt-audience <aud>    required token aud (env HERALD_JWT_AUDIENCE)
  --jwt-issuer <iss>      required token iss (env HERALD_JWT_ISSUER)
  (env HERALD_API_KEY)    comma-separated API keys for the HTTP publish API (env only: flags show in ps)
  --allowed-origins <l>   comma-separated browser origins allowed to connect (env HERALD_ALLOWED_ORIGINS)
  --tls-cert <file>       PEM certificate chain: serve https/wss (env HERALD_TLS_CERT)
  --tls-key <file>        PEM private key (env HERALD_TLS_KEY)
  --insecure              allow anonymous clients on a non-loopback interface
`;

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

type Values = Record<string, string | boolean | undefined>;

function pick(values: Values, flag: string, env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = (values[flag] as string | undefined) ?? env[name];
  return v === undefined || v === '' ? undefined : v;
}

function list(value: string | undefined): string[] | undefined {
  return value?.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Reads the security flags and environment; throws Error with a message fit for the user. */
export function parseSecurity(values: Values, env: NodeJS.ProcessEnv): SecurityConfig {
  const config: SecurityConfig = {
    jwtSecret: pick(values, 'jwt-secret', env, 'HERALD_JWT_SECRET'),
    jwtPublicKey: pick(values, 'jwt-public-key', env, 'HERALD_JWT_PUBLIC_KEY'),
    jwtAudience: pick(values, 'jwt-audience', env, 'HERALD_JWT_AUDIENCE'),
    jwtIssuer: pick(values, 'jwt-issuer', env, 'HERALD_JWT_ISSUER'),
    apiKeys: list(env.HERALD_API_KEY) ?? [],
    allowedOrigins: list(pick(values, 'allowed-origins', env, 'HERALD_ALLOWED_ORIGINS')),
    tlsCert: pick(values, 'tls-cert', env, 'HERALD_TLS_CERT'),
    tlsKey: pick(values, 'tls-key', env, 'HERALD_TLS_KEY'),
    insecure: values.insecure === true,
  };
  if (config.jwtSecret !== undefined && config.jwtPublicKey !== undefined) throw new Error('give one of --jwt-secret and --jwt-public-key, not both');
  if (config.jwtSecret !== undefined && Buffer.byteLength(config.jwtSecret) < 32) throw new Error('--jwt-secret must be at least 32 bytes');
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
  for (const k of config.apiKeys) if (k.length < 16) throw new Error('each HERALD_API_KEY must be at least 16 characters');
  for (const o of config.allowedOrigins ?? []) {
    if (normaliseOrigin(o) === undefined) throw new Error(`--allowed-origins: ${JSON.stringify(o)} is not an origin (scheme://host[:port])`);
  }
  return config;
}

/** 127.0.0.0/8, ::1, ::ffff:127.x and 'localhost': reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export interface SecurityPlan {
  /** Broker options: hooks, allowedOrigins, tls. */
  readonly options: Pick<BrokerOptions, 'hooks' | 'allowedOrigins' | 'tls'>;
  /** API key check for the HTTP publish API (undefined: no keys configured). */
  readonly apiKey: ApiKeyCheck | undefined;
  /** True when clients connect without credentials. */
  readonly anonymous: boolean;
  /** What to tell the operator at start: [level, message]. */
  readonly notices: readonly ['info' | 'warn', string][];
}

function pemOrFile(value: string): string {
  return value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8');
}

/**
 * The origin policy in force: the configured list; else any origin for an anonymous broker (a
 * development broker: every transport alike, so a page on another port can use SSE, the HTTP API
 * and socket.io polling as well as WebSocket); else, with authentication, only pages the broker
 * serves itself (the dashboard), since a token-bearing page elsewhere must be listed.
 */
function originsOf(config: SecurityConfig, anonymous: boolean): string[] | '*' {
  if (config.allowedOrigins !== undefined) return config.allowedOrigins;
  return anonymous ? '*' : [];
}

function originNotice(origins: string[] | '*'): string {
  if (origins === '*') return 'origins: any page may connect, on every transport (anonymous development mode; set HERALD_ALLOWED_ORIGINS to restrict)';
  if (origins.length === 0) return 'origins: only pages served by this broker may connect (set HERALD_ALLOWED_ORIGINS to admit your web app)';
  return `origins: only ${origins.join(', ')} and pages served by this broker may connect`;
}

/**
 * Turns the configuration into broker options, or throws when it would expose an unauthenticated
 * broker beyond loopback without `--insecure`.
 */
export function planSecurity(config: SecurityConfig, host: string): SecurityPlan {
  const notices: ['info' | 'warn', string][] = [];
  let hooks: Hooks = {};
  const anonymous = config.jwtSecret === undefined && config.jwtPublicKey === undefined;
  if (!anonymous) {
    hooks = jwtAuth({
      ...(config.jwtSecret !== undefined ? { secret: config.jwtSecret } : { publicKey: pemOrFile(config.jwtPublicKey!) }),
      ...(config.jwtAudience !== undefined ? { audience: config.jwtAudience } : {}),
      ...(config.jwtIssuer !== undefined ? { issuer: config.jwtIssuer } : {}),
    });
    notices.push(['info', `clients authenticate with JWT (${config.jwtSecret !== undefined ? 'HMAC secret' : 'public key'}); topic grants from the subscribe/publish claims`]);
  } else if (isLoopback(host)) {
    notices.push(['warn', `no authentication configured: anonymous clients may subscribe and publish to every topic; allowed because bound to loopback (${host}) only`]);
  } else if (config.insecure) {
    notices.push(['warn', `no authentication configured and bound to ${host} with --insecure: ANYONE who can reach this address may subscribe and publish to every topic`]);
  } else {
    throw new Error(`refusing to serve anonymous clients on ${host}: configure --jwt-secret or --jwt-public-key (or HERALD_JWT_SECRET / HERALD_JWT_PUBLIC_KEY), bind to 127.0.0.1, or pass --insecure`);
  }
  const allowedOrigins = originsOf(config, anonymous);
  notices.push(['info', originNotice(allowedOrigins)]);
  const tls = config.tlsCert !== undefined ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey!) } : undefined;
  return {
    options: { hooks, allowedOrigins, ...(tls ? { tls } : {}) },
    apiKey: config.apiKeys.length > 0 ? apiKeyChecker(config.apiKeys) : undefined,
    anonymous,
    notices,
  };
}
