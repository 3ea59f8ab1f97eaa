/**
 * Protocol fuzz (issue 5): 100,000 random commands per codec, encoded with the real codec (a share
 * of them with corrupted bytes), decoded and fed to real sessions exactly as the ws transport does.
 * Figures: every reply is `ok` or carries a registered error code (never `internal`), every close is
 * a documented code, and 0 publications are routed (the fuzzed principal holds no publish grant;
 * an observer subscribed to `>` counts deliveries). A second run per codec grants `publish fuzz.>`:
 * then every accepted publication reaches a JSON and a msgpack observer, with 0 encode failures.
 */
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { jwtAuth } from '../../core/auth/index.js';
import { jsonCodec, msgpackCodec, type Codec } from '../../core/codec.js';
import { CloseCodes, ErrorCodes, HeraldError } from '../../core/errors.js';
import { inProcessBroker, openSession, settle, type Recorded } from './in-process.js';
import { until } from '../helpers/until.js';

const COMMANDS = 100_000;
const SECRET = 'protocol-fuzz-secret-at-least-32-bytes!!';
const key = new TextEncoder().encode(SECRET);
const sign = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key);

/** Small values keep 200,000 samples cheap to generate; depth and size are not what breaks parsers here. */
const SMALL = { maxDepth: 2, maxKeys: 4, depthSize: 'small' } as const;
const topicLike = fc.oneof(
  fc.constantFrom('fuzz.a', 'fuzz.*', 'fuzz.>', '>', '*', 'other.topic', 'a..b', '.a', 'a.', '>.a', 'a.>.b', '', 'x'.repeat(300), 'fuzz.\u0000', 'fuzz.é'),
  fc.array(fc.oneof(fc.constantFrom('fuzz', 'a', '*', '>', ''), fc.string({ maxLength: 8 })), { minLength: 1, maxLength: 20 }).map((t) => t.join('.')),
  fc.anything(SMALL),
);
const position = fc.oneof(fc.record({ offset: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string()), epoch: fc.oneof(fc.string({ maxLength: 80 }), fc.nat()) }), fc.anything(SMALL));
const command = fc.record({
  op: fc.oneof(fc.constantFrom('auth', 'sub', 'unsub', 'pub', 'presence', 'history', 'ping', 'msg', 'PUB', '__proto__', 'constructor'), fc.string({ maxLength: 6 }), fc.anything(SMALL)),
  id: fc.oneof(fc.nat({ max: 1000 }).map((n) => n + 1), fc.integer(), fc.double(), fc.string({ maxLength: 4 }), fc.constant(null)),
  topic: topicLike,
  data: fc.anything(SMALL),
  since: position,
  limit: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string({ maxLength: 3 })),
  presence: fc.anything(SMALL),
  token: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('a.b.c'), fc.anything(SMALL)),
}, { requiredKeys: [] });
const input = fc.oneof({ weight: 6, arbitrary: command }, { weight: 2, arbitrary: fc.anything(SMALL) }, { weight: 1, arbitrary: fc.jsonValue() });
/** Publishes a `publish fuzz.>` grant accepts: valid ops and topics, random data of any kind. */
const grantedPub = fc.record({
  op: fc.constant('pub'),
  id: fc.nat({ max: 1000 }).map((n) => n + 1),
  topic: fc.constantFrom('fuzz.a', 'fuzz.b.c', 'fuzz.\u00e9'),
  data: fc.oneof(fc.anything({ maxDepth: 6, maxKeys: 6 }), fc.jsonValue(), fc.string(), fc.uint8Array({ maxLength: 64 })),
});
const publishingInput = fc.oneof({ weight: 3, arbitrary: input }, { weight: 2, arbitrary: grantedPub });
/** How the encoded bytes get corrupted, if at all. */
const damage = fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.record({ at: fc.nat(), byte: fc.nat({ max: 255 }), cut: fc.boolean() }) });

/**
 * `publishing`: the fuzzed principal may also publish on `fuzz.>`, so random data goes through
 * validation, encoding (both codecs: one observer each) and fan-out instead of stopping at authorization.
 */
async function fuzz(codec: Codec, commands: number, publishing: boolean): Promise<Record<string, number>> {
  const broker = await inProcessBroker({
    hooks: jwtAuth({ secret: SECRET }),
    // Let every command reach the command handlers instead of stopping at the first protocol error.
    limits: { protocolErrors: 1_000_000, messageRate: 1_000_000, messageBurst: 1_000_000, principalRate: 1_000_000, principalBurst: 1_000_000, pendingCommands: 100_000 },
  });
  const observer = openSession(broker, { token: await sign({ sub: 'observer', subscribe: ['>'] }) });
  observer.session.handle({ op: 'sub', id: 1, topic: '>' });
  const binaryObserver = openSession(broker, { token: await sign({ sub: 'observer', subscribe: ['>'] }), codec: msgpackCodec });
  binaryObserver.session.handle({ op: 'sub', id: 1, topic: '>' });
  await until(() => observer.messages.length > 0 && binaryObserver.messages.length > 0);
  expect(observer.messages).toContainEqual({ id: 1, ok: true });
  expect(binaryObserver.messages).toContainEqual({ id: 1, ok: true });
  const fuzzToken = await sign(publishing ? { sub: 'fuzzer', subscribe: ['fuzz.>'], publish: ['fuzz.>'] } : { sub: 'fuzzer', subscribe: ['fuzz.>'] });
  const counts: Record<string, number> = { commands: 0, ok: 0, typedErrors: 0, untyped: 0, internal: 0, sessions: 0, closes: 0, badCloses: 0, undecodable: 0 };
  const codes = new Set(Object.keys(ErrorCodes));
  const documentedCloses = new Set<number>(Object.values(CloseCodes));
  let current: Recorded | undefined;
  const counted = new WeakSet<Recorded>();
  const retire = (rec: Recorded): void => {
    for (const m of rec.messages) {
      if (m.ok === true) counts.ok!++;
      const error = m.error as { code?: unknown } | undefined;
      if (error !== undefined) {
        if (typeof error.code === 'string' && codes.has(error.code)) counts.typedErrors!++;
        else counts.untyped!++;
        if (error.code === 'internal') counts.internal!++;
      }
    }
    rec.messages.length = 0;
    if (rec.closeCode !== undefined && !counted.has(rec)) {
      counted.add(rec);
      counts.closes!++;
      if (!documentedCloses.has(rec.closeCode)) counts.badCloses!++;
    }
  };
  const samples = fc.sample(fc.tuple(publishing ? publishingInput : input, damage), { numRuns: commands, seed: 5 });
  for (let i = 0; i < samples.length; i++) {
    if (current === undefined || current.session.isClosed) {
      if (current) retire(current);
      current = openSession(broker, { token: fuzzToken, codec });
      counts.sessions!++;
    }
    const [value, hurt] = samples[i]!;
    let bytes: Buffer | string;
    try {
      // JSON.stringify(undefined) is undefined: what a client would send instead is some text.
      bytes = (codec.encode(value) as Buffer | string | undefined) ?? 'undefined';
    } catch {
      bytes = Buffer.from([0xc1, 0xff]); // a value the codec cannot carry still arrives as some bytes
    }
    if (hurt) {
      const buf = Buffer.from(bytes as Buffer | string);
      if (buf.length > 0) {
        buf[hurt.at % buf.length] = hurt.byte;
        bytes = hurt.cut ? buf.subarray(0, hurt.at % buf.length) : buf;
      }
      if (!codec.binary) bytes = bytes.toString('utf8');
    }
    counts.commands!++;
    let decoded: unknown;
    try {
      decoded = codec.decode(bytes);
    } catch {
      counts.undecodable!++;
      current.session.reject(new HeraldError('bad_request', `frame is not valid ${codec.name}`));
      continue;
    }
    current.session.handle(decoded);
    if (i % 200 === 199) {
      await settle(4);
      retire(current);
    }
  }
  await settle(20);
  if (current) retire(current);
  counts.routed = observer.messages.filter((m) => m.op === 'msg').length;
  counts.routedBinary = binaryObserver.messages.filter((m) => m.op === 'msg').length;
  counts.publicationsIn = broker.stats().publicationsIn;
  counts.encodeFailures = broker.stats().encodeFailures;
  return counts;
}

describe('protocol fuzz', () => {
  for (const codec of [jsonCodec, msgpackCodec]) {
    it(`${COMMANDS} random ${codec.name} commands: only typed errors, documented closes, 0 routed publications`, async () => {
      const c = await fuzz(codec, COMMANDS, false);
      console.info(`[security] protocol fuzz ${codec.name}: ${JSON.stringify(c)}`);
      expect(c.commands).toBe(COMMANDS);
      expect(c.untyped).toBe(0);
      expect(c.internal).toBe(0);
      expect(c.badCloses).toBe(0);
      expect(c.routed).toBe(0);
      expect(c.publicationsIn).toBe(0);
      // The fuzz reached the handlers: many typed errors, some accepted commands (ping, sub fuzz.*).
      expect(c.typedErrors).toBeGreaterThan(COMMANDS / 2);
      expect(c.ok).toBeGreaterThan(100);
    }, 60_000);

    it(`${COMMANDS / 2} random ${codec.name} commands from a principal that may publish on fuzz.>: random data validated, encoded for both codecs and fanned out`, async () => {
      const c = await fuzz(codec, COMMANDS / 2, true);
      console.info(`[security] protocol fuzz ${codec.name}, publishing: ${JSON.stringify(c)}`);
      expect(c.untyped).toBe(0);
      expect(c.internal).toBe(0);
      expect(c.badCloses).toBe(0);
      expect(c.encodeFailures).toBe(0);
      // Publications went through: every accepted one reached both observers, whatever its data.
      expect(c.publicationsIn).toBeGreaterThan(COMMANDS / 20);
      expect(c.routed).toBe(c.publicationsIn);
      expect(c.routedBinary).toBe(c.publicationsIn);
    }, 60_000);
  }
});
