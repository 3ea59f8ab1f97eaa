/**
 * bin/config.ts: defaults < file < env < flags, zod validation naming the key and its source,
 * `herald check-config`, and docs/configuration.md documenting every key.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv } from '../helpers/child-env.js';
import { parseCli } from '../../bin/cli.js';
import { ConfigError } from '../../core/errors.js';
import { allSettings, brokerDefaults, resolveConfig, SETTINGS, unknownEnv } from '../../bin/config.js';

const SECRET = 'a-jwt-secret-of-at-least-32-bytes!!';

function withFile(content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-config-'));
  const file = join(dir, 'herald.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('merges defaults < file < env < flags, key by key', () => {
    const file = withFile({ port: 7001, host: '127.0.0.2', logLevel: 'warn', limits: { maxPayload: 1000, outboundBytes: 5000 }, nats: { prefix: 'from-file' } });
    expect(resolveConfig({ flags: {}, env: {} })).toMatchObject({ port: 8080, host: '127.0.0.1', logLevel: 'info', limits: brokerDefaults().limits });
    const fromFile = resolveConfig({ flags: { config: file }, env: {} });
    expect(fromFile).toMatchObject({ port: 7001, host: '127.0.0.2', logLevel: 'warn', nats: { prefix: 'from-file' }, configFile: file });
    // Keys the file leaves out keep their defaults, also inside a section it sets.
    expect(fromFile.limits).toEqual({ ...brokerDefaults().limits, maxPayload: 1000, outboundBytes: 5000 });

    const env = { HERALD_CONFIG: file, PORT: '7002', HERALD_LIMITS_MAX_PAYLOAD: '2000', HERALD_NATS_PREFIX: 'from-env' };
    const fromEnv = resolveConfig({ flags: {}, env });
    expect(fromEnv).toMatchObject({ port: 7002, host: '127.0.0.2', nats: { prefix: 'from-env' } });
    expect(fromEnv.limits).toMatchObject({ maxPayload: 2000, outboundBytes: 5000 });

    const fromFlags = resolveConfig({ flags: { port: '7003', 'nats-prefix': 'from-flag' }, env });
    expect(fromFlags).toMatchObject({ port: 7003, host: '127.0.0.2', nats: { prefix: 'from-flag' } });
    // HERALD_PORT is the namespaced spelling of PORT and wins over it.
    expect(resolveConfig({ flags: {}, env: { PORT: '1', HERALD_PORT: '2' } }).port).toBe(2);
  });

  it('checks nats.prefix as the NATS adapter does: one token, no dots (prefixes must not nest)', () => {
    expect(() => resolveConfig({ flags: { 'nats-prefix': 'a.b' }, env: {} })).toThrow(ConfigError);
    expect(resolveConfig({ flags: { 'nats-prefix': 'a_b-1' }, env: {} }).nats.prefix).toBe('a_b-1');
  });

  it('reads every kind of value from env and flags: integers, booleans, lists; negated flags', () => {
    const c = resolveConfig({
      flags: { 'no-dashboard': true },
      env: { HERALD_METRICS: 'false', HERALD_HISTORY_TOPICS: 'chat.>, feed.*', HERALD_LIMITS_EXEMPT_LOOPBACK: 'false', HERALD_NATS_URL: 'nats://a:4222,nats://b:4222' },
    });
    expect(c.dashboard.enabled).toBe(false);
    expect(c.metrics.enabled).toBe(false);
    expect(c.history.topics).toEqual(['chat.>', 'feed.*']);
    expect(c.nats.servers).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(brokerDefaults().limits.exemptLoopback).toBe(true);
    expect(c.limits.exemptLoopback).toBe(false);
    // The file may give a list as an array or as a comma-separated string.
    expect(resolveConfig({ flags: { config: withFile({ security: { allowedOrigins: 'https://a.example, https://b.example' } }) }, env: {} }).security.allowedOrigins)
      .toEqual(['https://a.example', 'https://b.example']);
  });

  it('names every bad key and where its value came from', () => {
    const file = withFile({ portt: 1, limits: { maxPayload: -1, bogus: true }, history: { topics: ['a.>.b'] }, dashboard: { interval: 'often' } });
    const problems = problemsOf(() => resolveConfig({ flags: { config: file, 'log-level': 'loud' }, env: { HERALD_LIMITS_OUTBOUND_BYTES: 'lots', HERALD_DASHBOARD: 'maybe' } }));
    // Conversion errors come first, alone (the rest cannot be checked without the values).
    expect(problems.sort()).toEqual([
      'dashboard.enabled (env HERALD_DASHBOARD): expected true or false, got "maybe"',
      'limits.outboundBytes (env HERALD_LIMITS_OUTBOUND_BYTES): expected a non-negative integer, got "lots"',
    ]);
    const schema = problemsOf(() => resolveConfig({ flags: { config: file, 'log-level': 'loud' }, env: {} }));
    expect(schema).toEqual(expect.arrayContaining([
      `portt (file ${file}): unknown key`,
      `limits.bogus (file ${file}): unknown key`,
      expect.stringMatching(/^limits\.maxPayload \(file .*\): .*>0/),
      expect.stringMatching(/^history\.topics\.0 \(file .*\): not a valid topic pattern/),
      expect.stringMatching(/^dashboard\.interval \(file .*\): .*number/),
      expect.stringMatching(/^logLevel \(--log-level\): .*"info"/),
    ]));
    expect(schema).toHaveLength(6);
    expect(problemsOf(() => resolveConfig({ flags: { config: withFile('{ not json') }, env: {} }))[0]).toMatch(/^config file .*herald\.json: .*JSON/);
    expect(problemsOf(() => resolveConfig({ flags: { config: '/nonexistent/herald.json' }, env: {} }))[0]).toMatch(/ENOENT/);
    // Rules spanning keys stay in bin/security.ts and still apply to values from a file.
    expect(problemsOf(() => resolveConfig({ flags: { config: withFile({ security: { jwtSecret: 'short' } }) }, env: {} }))[0]).toMatch(/^security\.jwtSecret \(file .*\): .*32 bytes/);
    // The old entry point reports the same, for the binary's exit code 2.
    expect(() => parseCli(['--config', file], {})).toThrow(/portt/);
  });

  it('herald check-config prints the resolved configuration (secrets redacted) and exits 0, or names the problems and exits 2', async () => {
    const run = (args: string[], env: Record<string, string> = {}) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bin/herald.ts', 'check-config', ...args], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.once('exit', (code) => resolve({ code, out, err }));
    });
    const file = withFile({ port: 9123, history: { size: 10 }, security: { jwtSecret: SECRET } });
    const [ok, bad] = await Promise.all([
      run(['--config', file], { HERALD_LIMITS_MAX_SUBSCRIPTIONS: '7' }),
      run(['--config', withFile({ limits: { maxPayloadd: 1 } })]),
    ]);
    expect(ok.code).toBe(0);
    const printed = JSON.parse(ok.out);
    expect(printed).toMatchObject({ port: 9123, history: { size: 10, ttl: 300_000 }, limits: { maxSubscriptions: 7 }, security: { jwtSecret: '<redacted>' } });
    expect(ok.out).not.toContain(SECRET);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/limits\.maxPayloadd \(file .*\): unknown key/);
    expect(bad.out).toBe('');
  }, 30_000);

  it('docs/configuration.md has one table row per setting, with exactly its environment variables and flag, and no other row', () => {
    const doc = readFileSync('docs/configuration.md', 'utf8');
    const rows = new Map<string, { env: string[]; flag: string[] }>();
    const codes = (cell: string, re: RegExp) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).filter((c) => re.test(c));
    for (const line of doc.split('\n')) {
      const cells = line.split(' | ');
      const key = /^\| `([a-zA-Z.]+)`$/.exec(cells[0] ?? '')?.[1];
      if (key === undefined || cells.length < 4) continue;
      // `createBroker`-only options (no variable, no flag: `history.store` is an object) are not the binary's settings.
      if (cells[1] === '—') continue;
      // Standalone rows: key | env | flag | ...; broker section rows: key | env (with flags written there too) | ...
      const envAndFlag = cells[2]!.startsWith('`--') || cells[2] === '' || cells[2]!.startsWith('(') ? `${cells[1]} ${cells[2]}` : cells[1]!;
      rows.set(key, { env: codes(envAndFlag, /^(HERALD_[A-Z_]+|PORT|HOST)$/), flag: codes(envAndFlag, /^--/) });
    }
    const documented = [...rows.keys()].filter((k) => k.includes('.') || SETTINGS.some((s) => s.key === k));
    expect(documented.sort()).toEqual(allSettings().map((s) => s.key).sort());
    for (const s of allSettings()) {
      expect({ key: s.key, ...rows.get(s.key) }).toEqual({ key: s.key, env: [...s.env], flag: s.flag === undefined ? [] : [`--${s.flag}`] });
    }
  });

  it('reports each HERALD_* variable no setting reads as an unknown_env error with the nearest name, and no known one', () => {
    const known = Object.fromEntries(allSettings().flatMap((s) => s.env).map((e) => [e, 'x']));
    const found = unknownEnv({ ...known, HERALD_CONFIG: 'x', HERALD_JWT_SECRT: 'x', HERALD_LIMITS_MAX_PAYLODE: '1', HERALD_ZZZZZZZZZZZZZZZZZZZZZZZZZZ: '1', OTHER: '1' });
    expect(found.map((e) => [e.code, e.variable, e.suggestion])).toEqual([
      ['unknown_env', 'HERALD_JWT_SECRT', 'HERALD_JWT_SECRET'],
      ['unknown_env', 'HERALD_LIMITS_MAX_PAYLODE', 'HERALD_LIMITS_MAX_PAYLOAD'],
      ['unknown_env', 'HERALD_ZZZZZZZZZZZZZZZZZZZZZZZZZZ', undefined],
    ]);
    expect(found[0]!.message).toBe('unknown environment variable HERALD_JWT_SECRT is ignored (did you mean HERALD_JWT_SECRET?)');
  });

  it('--help shows every flag and every environment-only security variable from the one table', async () => {
    const { HELP } = await import('../../bin/cli.js');
    for (const s of SETTINGS) {
      if (s.flag !== undefined) expect(HELP).toContain(`--${s.flag}`);
      if (s.help !== undefined) for (const e of s.env) expect(HELP).toContain(e);
    }
  });
});
