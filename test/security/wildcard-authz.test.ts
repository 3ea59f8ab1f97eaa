/**
 * Wildcard authorisation, property-tested against a brute-force oracle (issue 5): random grants
 * in a signed JWT, random subscription patterns and publications, real sessions. Figure: 0
 * unauthorised deliveries and 0 unauthorised publications over every run.
 */
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { jwtAuth } from '../../core/auth/index.js';
import { matches } from '../../core/topic.js';
import { inProcessBroker, openSession, settle } from './in-process.js';
import { until } from '../helpers/until.js';

const SECRET = 'wildcard-property-secret-32-bytes-long!!';
const key = new TextEncoder().encode(SECRET);
// Patterns use tokens a, b; the universe adds z, which no pattern names, and one token more than
// any pattern has, so a topic a grant misses always exists in it when one exists at all.
const LITERALS = ['a', 'b'];
const MAX_TOKENS = 3;
const UNIVERSE: string[] = [];
for (let n = 1; n <= MAX_TOKENS + 1; n++) {
  const build = (prefix: string[]): void => {
    if (prefix.length === n) { UNIVERSE.push(prefix.join('.')); return; }
    for (const t of [...LITERALS, 'z']) build([...prefix, t]);
  };
  build([]);
}

const token = fc.constantFrom(...LITERALS, '*');
/** 1..3 tokens of a, b, '*', the last one possibly '>'. */
const pattern = fc.tuple(fc.array(token, { minLength: 0, maxLength: MAX_TOKENS }), fc.boolean())
  .filter(([tokens, tail]) => tokens.length > 0 || tail)
  .map(([tokens, tail]) => (tail ? [...tokens.slice(0, MAX_TOKENS - 1), '>'] : tokens).join('.'));
const grants = fc.array(fc.oneof({ weight: 9, arbitrary: pattern }, { weight: 1, arbitrary: fc.constant('>') }), { maxLength: 4 });

/** Oracle: the topics of the universe some grant matches. */
const granted = (list: string[]): Set<string> => new Set(UNIVERSE.filter((t) => list.some((g) => matches(g, t))));

describe('wildcard authorisation', () => {
  it('never delivers or accepts a topic outside the grants (brute-force oracle)', async () => {
    // One user 'p' in every run: the per-principal rate would otherwise refuse its later commands.
    const broker = await inProcessBroker({ hooks: jwtAuth({ secret: SECRET }), limits: { maxSubscriptions: 64, principalRate: 1_000_000, principalBurst: 1_000_000 } });
    let deliveries = 0;
    let unauthorisedDeliveries = 0;
    let unauthorisedPublications = 0;
    let acceptedPublications = 0;
    let refusedAllowedPublications = 0;
    let allowedSubs = 0;
    let deniedSubs = 0;
    let runs = 0;
    await fc.assert(fc.asyncProperty(grants, grants, fc.array(pattern, { minLength: 1, maxLength: 5 }), async (subGrants, pubGrants, wanted) => {
      runs++;
      const jwt = await new SignJWT({ sub: 'p', subscribe: subGrants, publish: pubGrants }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key);
      const s = openSession(broker, { token: jwt });
      await settle();
      let id = 0;
      for (const p of wanted) s.session.handle({ op: 'sub', id: ++id, topic: p });
      await until(() => s.messages.filter((m) => m.id !== undefined).length >= wanted.length);
      const readable = granted(subGrants);
      for (let i = 1; i <= wanted.length; i++) {
        const reply = s.messages.find((m) => m.id === i)!;
        const p = wanted[i - 1]!;
        const matched = UNIVERSE.filter((t) => matches(p, t));
        // Brute force: some grant matches every universe topic the pattern matches.
        const coveredBySome = subGrants.some((g) => matched.every((t) => matches(g, t)));
        if (reply.ok) {
          allowedSubs++;
          // Safety: allowed only when every topic the pattern can match is granted.
          expect(matched.every((t) => readable.has(t)), `sub ${p} allowed with grants ${JSON.stringify(subGrants)}`).toBe(true);
        } else {
          deniedSubs++;
          expect(reply.error.code).toBe('forbidden');
        }
        // Exactness against the oracle: nothing a grant covers is refused.
        expect(reply.ok, `sub ${p} with grants ${JSON.stringify(subGrants)}`).toBe(coveredBySome);
      }
      // The session publishes on every universe topic; the broker publishes too (what others say).
      const writable = granted(pubGrants);
      const before = s.messages.length;
      for (const t of UNIVERSE) s.session.handle({ op: 'pub', id: ++id, topic: t, data: 'self' });
      await until(() => s.messages.filter((m) => m.id !== undefined).length >= id);
      for (const m of s.messages.slice(before)) {
        if (m.id === undefined) continue;
        const topic = UNIVERSE[m.id - wanted.length - 1]!;
        if (m.ok === true) {
          acceptedPublications++;
          if (!writable.has(topic)) unauthorisedPublications++;
        } else if (writable.has(topic)) refusedAllowedPublications++; // a broker refusing everything fails here
      }
      for (const t of UNIVERSE) await broker.publish(t, 'other');
      await settle();
      for (const m of s.messages) {
        if (m.op !== 'msg') continue;
        deliveries++;
        if (!readable.has(m.topic)) unauthorisedDeliveries++;
      }
      s.session.close(1000, 'done');
    }), { numRuns: 300 });
    console.info(`[security] wildcard authz: ${runs} runs, ${allowedSubs} subs allowed, ${deniedSubs} denied, ${deliveries} deliveries, ${unauthorisedDeliveries} unauthorised deliveries, ${unauthorisedPublications} unauthorised publications`);
    expect(runs).toBe(300);
    expect(unauthorisedDeliveries).toBe(0);
    expect(unauthorisedPublications).toBe(0);
    expect(refusedAllowedPublications).toBe(0);
    expect(acceptedPublications).toBeGreaterThan(100);
    // The property was exercised both ways, and grants did let things through.
    expect(allowedSubs).toBeGreaterThan(50);
    expect(deniedSubs).toBeGreaterThan(50);
    expect(deliveries).toBeGreaterThan(1000);
  }, 60_000);
});
