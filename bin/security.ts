/**
 * Security of the standalone binary (docs/security.md): the security section of the configuration
 * (read and checked by config.ts) turned into broker options, and the secure default: with no
 * authentication configured, anonymous clients are served only while bound to loopback; another
 * interface needs an explicit `--insecure`. Pure functions, testable without a server.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { BrokerOptions, Hooks } from '../core/index.js';
import { apiKeyChecker, jwtAuth, type ApiKeyCheck } from '../core/auth/index.js';
import { ConfigError } from '../core/errors.js';
import type { SecurityConfig } from './config.js';


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

/** A file the security section names, read now so that a missing one is a configuration error, not a crash. */
function readSetting(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError([{ path: key, message: (err as Error).message }], 'invalid configuration');
  }
}

function pemOrFile(value: string): string {
  return value.includes('-----BEGIN') ? value : readSetting('security.jwtPublicKey', value).toString('utf8');
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
 * Turns the configuration into broker options, or throws ConfigError when it would expose an
 * unauthenticated broker beyond loopback without `--insecure`, or a file it names cannot be read.
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
    throw new ConfigError([{ path: 'security', message: `refusing to serve anonymous clients on ${host}: configure --jwt-secret or --jwt-public-key (or HERALD_JWT_SECRET / HERALD_JWT_PUBLIC_KEY), bind to 127.0.0.1, or pass --insecure` }], 'invalid configuration');
  }
  const allowedOrigins = originsOf(config, anonymous);
  notices.push(['info', originNotice(allowedOrigins)]);
  const tls = config.tlsCert !== undefined ? { cert: readSetting('security.tlsCert', config.tlsCert), key: readSetting('security.tlsKey', config.tlsKey!) } : undefined;
  return {
    options: { hooks, allowedOrigins, ...(tls ? { tls } : {}) },
    apiKey: config.apiKeys.length > 0 ? apiKeyChecker(config.apiKeys) : undefined,
    anonymous,
    notices,
  };
}
