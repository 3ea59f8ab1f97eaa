import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CloseCodes, ConfigError, ErrorCodes, HeraldError, SetupError, SetupErrorCodes, toHeraldError } from '../../core/errors.js';

const page = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** The first column of the table under `## <heading>` in docs/errors.md. */
function documented(heading: string): string[] {
  const start = page.indexOf(`## ${heading}`);
  expect(start, heading).toBeGreaterThan(-1);
  const end = page.indexOf('\n## ', start + 1);
  const section = page.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^\| `?([a-z_]+|\d{4})`? \|/gm)].map((m) => m[1]!).filter((c) => c !== 'code');
}

// Clients branch on these: changing one is a protocol change (docs/protocol.md).
describe('error registry', () => {
  it('pins the error codes of protocol v1', () => {
    expect(Object.keys(ErrorCodes)).toEqual([
      'bad_request', 'invalid_topic', 'unauthorized', 'forbidden', 'too_large', 'rate_limited', 'limit_exceeded', 'unsupported', 'internal', 'unavailable',
    ]);
  });

  it('docs/errors.md lists every protocol error code and no other, in the registry order', () => {
    expect(documented('Protocol errors')).toEqual(Object.keys(ErrorCodes));
  });

  it('docs/errors.md lists every setup error code and no other, in the registry order', () => {
    expect(documented('Setup errors')).toEqual(Object.keys(SetupErrorCodes));
  });

  it('no code is in two categories', () => {
    const all = [...Object.keys(ErrorCodes), ...Object.keys(SetupErrorCodes)];
    expect(new Set(all).size).toBe(all.length);
  });

  it('pins the close codes', () => {
    expect(CloseCodes).toEqual({
      shuttingDown: 1001, tooLarge: 1009, unauthorized: 4001, disconnected: 4002, disconnectedForGood: 4003, slowConsumer: 4008, rateLimited: 4029, protocolViolation: 4400,
    });
  });

  it('docs/errors.md lists every close code and no other', () => {
    expect(documented('Close codes').map(Number)).toEqual(Object.values(CloseCodes));
  });

  it('serialises as {code, message} and hides unknown failures as internal', () => {
    expect(JSON.parse(JSON.stringify(new HeraldError('forbidden', 'no')))).toEqual({ code: 'forbidden', message: 'no' });
    const hidden = toHeraldError(new Error('secret stack detail'));
    expect(hidden.code).toBe('internal');
    expect(hidden.message).not.toMatch(/secret/);
  });

  it('setup errors carry their registry code and category; a ConfigError names each key and its source', () => {
    const e = new SetupError('route_conflict', 'two transports claim /ws');
    expect(e).toMatchObject({ code: 'route_conflict', category: 'setup', message: 'two transports claim /ws' });
    expect(new SetupError('missing_asset').message).toBe(SetupErrorCodes.missing_asset);
    expect(new HeraldError('forbidden').category).toBe('protocol');
    const c = new ConfigError([{ path: 'limits.maxPayload', source: 'env HERALD_LIMITS_MAX_PAYLOAD', message: 'too small' }, { path: '', source: 'config file x.json', message: 'not JSON' }, { path: 'port', message: 'bad' }]);
    expect(c).toBeInstanceOf(SetupError);
    expect(c.code).toBe('invalid_config');
    expect(c.problems).toEqual(['limits.maxPayload (env HERALD_LIMITS_MAX_PAYLOAD): too small', 'config file x.json: not JSON', 'port: bad']);
    expect(c.message).toBe(`invalid Herald options: ${c.problems.join('; ')}`);
  });

  it('nothing in core, transports, adapters, bin or ops throws a plain Error: every failure has a registry code', () => {
    // Decoding a frame fails with whatever the parser throws; the session turns it into bad_request.
    // The encoders' guards catch a bug in Herald itself (a reply routed to the wrong place), not a setup failure.
    const allowed = new Set([
      "core/codec.ts: throw new Error('empty msgpack frame')",
      "transports/socketio/encoder.ts: throw new TypeError('socket.io replies go to their ack, not through the encoder')",
      "transports/sse/stream.ts: throw new TypeError('SSE subscribe replies go to answered()",
      "transports/mqtt/client.ts: throw new TypeError('MQTT replies go to answered()",
    ]);
    const sources = (dir: string): string[] => readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((f) => f.isFile() && f.name.endsWith('.ts')).map((f) => join(f.parentPath, f.name));
    const found = ['core', 'transports', 'adapters', 'bin', 'ops'].flatMap(sources).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/throw new (?:Type|Range)?Error\([^)]*\)?/g)].map((m) => `${file}: ${m[0]}`));
    expect(found.filter((f) => !allowed.has(f))).toEqual([]);
  });
});
