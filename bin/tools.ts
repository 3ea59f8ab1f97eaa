/**
 * The binary's tool subcommands, for trying Herald by hand (Centrifugo's `gentoken` and `api`):
 *   herald gentoken --user alice [--subscribe 'chat.*'] [--publish 'chat.*'] [--ttl 1h] [--admin]
 *     prints a JWT signed with the configured HMAC secret (HERALD_JWT_SECRET, --jwt-secret, file).
 *   herald api <method> [json] [--url http://127.0.0.1:8080] [--token <key or JWT>]
 *     calls the HTTP API of a running broker (the API key HERALD_API_KEY by default) and prints
 *     its JSON answer; exit 1 when it answers an error.
 */
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { ConfigError, SetupError, type SetupErrorCode } from '../core/errors.js';
import { isPattern } from '../core/topic.js';
import { resolveConfig, type BinaryConfig } from './config.js';

export const TOOLS_HELP = `       herald gentoken --user <id> [--subscribe <patterns>] [--publish <patterns>] [--ttl 1h] [--admin]
                                        print a JWT signed with the configured HERALD_JWT_SECRET
       herald api <method> [json] [--url <base>] [--token <t>]
                                        call a running broker's HTTP API (methods: ${['publish', 'broadcast', 'disconnect', 'unsubscribe', 'subscribe', 'topics', 'info', 'presence-stats'].join(', ')})
`;

/**
 * A failure of a tool, with its registry code: its message goes to stderr (stdout for a broker's
 * error answer); `exit` is the process exit code, 2 for a bad command line or configuration, else 1.
 */
export class ToolError extends SetupError {
  readonly exit: number;
  constructor(code: SetupErrorCode, message: string, readonly toStdout = false) {
    super(code, message);
    this.name = 'ToolError';
    this.exit = code === 'invalid_usage' || code === 'invalid_config' ? 2 : 1;
  }
}

const usage = (message: string) => new ToolError('invalid_usage', message);

/** `90`, `90s`, `15m`, `1h`, `7d` -> seconds. */
export function parseTtl(value: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(value);
  const seconds = m === null ? NaN : Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw usage(`--ttl ${JSON.stringify(value)} is not a duration (90, 90s, 15m, 1h, 7d)`);
  return seconds;
}

function configOf(flags: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): BinaryConfig {
  try {
    return resolveConfig({ flags, env });
  } catch (err) {
    if (err instanceof ConfigError) throw new ToolError('invalid_config', `invalid configuration:\n${err.problems.map((p) => `  ${p}`).join('\n')}`);
    throw err;
  }
}

const patterns = (values: string[] | undefined, flag: string): string[] => {
  const list = (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  const bad = list.find((p) => !isPattern(p));
  if (bad !== undefined) throw usage(`--${flag} ${JSON.stringify(bad)} is not a topic pattern`);
  return list;
};

export async function gentoken(argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        user: { type: 'string' }, subscribe: { type: 'string', multiple: true }, publish: { type: 'string', multiple: true },
        ttl: { type: 'string' }, admin: { type: 'boolean' }, config: { type: 'string' }, 'jwt-secret': { type: 'string' },
      },
    }));
  } catch (err) {
    throw usage((err as Error).message);
  }
  if (values.user === undefined || values.user === '') throw usage('gentoken needs --user <id>');
  const config = configOf({ config: values.config, 'jwt-secret': values['jwt-secret'] }, env);
  const { jwtSecret, jwtAudience, jwtIssuer } = config.security;
  if (jwtSecret === undefined) {
    throw new ToolError('invalid_config', `gentoken signs with the broker's HMAC secret: set HERALD_JWT_SECRET (or --jwt-secret, or security.jwtSecret in the config file)${config.security.jwtPublicKey ? '; a broker with a public key verifies tokens your issuer signs with its private key' : ''}`);
  }
  const claims: Record<string, unknown> = { subscribe: patterns(values.subscribe, 'subscribe'), publish: patterns(values.publish, 'publish') };
  if (values.admin === true) claims.admin = true;
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setSubject(values.user).setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + parseTtl(values.ttl ?? '1h'));
  if (jwtAudience !== undefined) jwt = jwt.setAudience(jwtAudience);
  if (jwtIssuer !== undefined) jwt = jwt.setIssuer(jwtIssuer);
  return `${await jwt.sign(new TextEncoder().encode(jwtSecret))}\n`;
}

/** HTTP method and path of each `herald api` method; a topic-path one takes `topic` from the JSON. */
const METHODS: Record<string, { method: 'GET' | 'POST'; path: (body: Record<string, unknown>) => string }> = {
  publish: { method: 'POST', path: () => 'publish' },
  broadcast: { method: 'POST', path: () => 'broadcast' },
  disconnect: { method: 'POST', path: () => 'disconnect' },
  unsubscribe: { method: 'POST', path: () => 'unsubscribe' },
  subscribe: { method: 'POST', path: () => 'subscribe' },
  topics: { method: 'GET', path: (b) => (typeof b.pattern === 'string' ? `topics?pattern=${encodeURIComponent(b.pattern)}` : 'topics') },
  info: { method: 'GET', path: () => 'info' },
  'presence-stats': {
    method: 'GET',
    path: (b) => {
      if (typeof b.topic !== 'string') throw usage('presence-stats needs {"topic":"..."}');
      return `presence-stats/${encodeURIComponent(b.topic)}`;
    },
  },
};

/** Resolves with the answer's JSON text; rejects with exit 1 when the broker answered an error. */
export async function api(argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv, strict: true, allowPositionals: true,
      options: { url: { type: 'string' }, token: { type: 'string' }, config: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } },
    }));
  } catch (err) {
    throw usage((err as Error).message);
  }
  const [name, json, ...extra] = positionals;
  const spec = name === undefined ? undefined : METHODS[name];
  if (spec === undefined || extra.length > 0) throw usage(`usage: herald api <method> [json] (methods: ${Object.keys(METHODS).join(', ')})`);
  let body: Record<string, unknown> = {};
  if (json !== undefined) {
    try { body = JSON.parse(json) as Record<string, unknown>; } catch { throw usage(`the json argument is not JSON: ${json.slice(0, 80)}`); }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw usage('the json argument must be an object');
  }
  const config = configOf({ config: values.config, port: values.port, host: values.host }, env);
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const base = (values.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`).replace(/\/+$/, '');
  const token = values.token ?? config.security.apiKeys[0];
  const url = `${base}/api/${spec.path(body)}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: spec.method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(spec.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      ...(spec.method === 'POST' ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new ToolError('broker_unreachable', `cannot reach ${url}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
  }
  const text = await res.text();
  let answer: { ok?: unknown };
  try { answer = JSON.parse(text) as { ok?: unknown }; } catch { throw new ToolError('broker_unreachable', `${url} answered HTTP ${res.status} without JSON (is this a Herald broker with the HTTP API?)`); }
  const out = `${JSON.stringify(answer, null, 2)}\n`;
  if (answer.ok !== true) throw new ToolError('api_refused', out, true);
  return out;
}

export type ToolName = 'gentoken' | 'api';

/** `herald gentoken` / `herald api` as the binary runs them: one answer on stdout (or stderr), and the exit code. */
export async function runTool(name: ToolName, argv: string[]): Promise<void> {
  try {
    process.stdout.write(await (name === 'gentoken' ? gentoken : api)(argv, process.env));
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    if (err.toStdout) process.stdout.write(err.message);
    else process.stderr.write(`herald ${name}: ${err.message}\n`);
    process.exitCode = err.exit;
  }
}
