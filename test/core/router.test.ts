import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Router } from '../../core/router.js';
import { isTopic, matches } from '../../core/topic.js';

const token = fc.constantFrom('a', 'b', 'c', 'd');
const topicArb = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join('.'));
const patternArb = fc
  .array(fc.constantFrom('a', 'b', 'c', '*'), { minLength: 1, maxLength: 4 })
  .chain((tokens) => fc.boolean().map((tail) => (tail ? [...tokens.slice(0, -1), '>'] : tokens).join('.')));

describe('Router', () => {
  it('agrees with a brute-force matcher under random subscribe/unsubscribe (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), patternArb, fc.integer({ min: 0, max: 5 })), { maxLength: 60 }),
        fc.array(topicArb, { minLength: 1, maxLength: 20 }),
        (ops, topics) => {
          const router = new Router<number>({ cacheSize: 8 });
          const oracle = new Map<string, Set<number>>();
          for (const [i, [add, pattern, value]] of ops.entries()) {
            if (add) {
              router.add(pattern, value);
              if (!oracle.has(pattern)) oracle.set(pattern, new Set());
              oracle.get(pattern)!.add(value);
            } else {
              router.remove(pattern, value);
              oracle.get(pattern)?.delete(value);
            }
            // Interleave matches with changes so stale kept or cached results would show: a topic
            // taken in turn, and the changed pattern itself when it is a topic.
            const t = topics[i % topics.length]!;
            expect(new Set(router.match(t))).toEqual(expected(oracle, t));
            if (isTopic(pattern)) expect(new Set(router.match(pattern))).toEqual(expected(oracle, pattern));
          }
          for (const t of topics) {
            const got = router.match(t);
            expect(new Set(got)).toEqual(expected(oracle, t));
            expect(got.length).toBe(new Set(got).size); // each value once
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('returns a value once however many of its patterns match', () => {
    const r = new Router<string>();
    r.add('a.b', 's1');
    r.add('a.*', 's1');
    r.add('a.>', 's1');
    r.add('>', 's1');
    r.add('a.*', 's2');
    expect([...r.match('a.b')].sort()).toEqual(['s1', 's2']);
  });

  it('prunes the trie on removal and counts per pattern', () => {
    const r = new Router<number>();
    for (let i = 0; i < 1000; i++) r.add(`x.${i}.*`, i);
    expect(r.wildcardCount).toBe(1000);
    expect(r.count('x.5.*')).toBe(1);
    for (let i = 0; i < 1000; i++) expect(r.remove(`x.${i}.*`, i)).toBe(true);
    expect(r.wildcardCount).toBe(0);
    expect(r.remove('x.1.*', 1)).toBe(false);
    expect((r as unknown as { root: { children?: Map<string, unknown> } }).root.children?.size ?? 0).toBe(0);
  });

  it('keeps the result cache bounded', () => {
    const r = new Router<number>({ cacheSize: 10 });
    r.add('t.*', 1);
    for (let i = 0; i < 100; i++) expect(r.match(`t.${i}`)).toEqual([1]);
    expect((r as unknown as { cache: Map<string, unknown> }).cache.size).toBeLessThanOrEqual(10);
  });

  it('a result kept on a literal topic follows wildcard and literal changes', () => {
    const r = new Router<number>();
    r.add('a.b', 1);
    r.add('a.*', 2);
    expect([...r.match('a.b')].sort()).toEqual([1, 2]);
    r.add('>', 3);
    expect([...r.match('a.b')].sort()).toEqual([1, 2, 3]);
    r.add('a.b', 4);
    expect([...r.match('a.b')].sort()).toEqual([1, 2, 3, 4]);
    r.remove('a.*', 2);
    expect([...r.match('a.b')].sort()).toEqual([1, 3, 4]);
    r.remove('a.b', 1);
    r.remove('a.b', 4);
    expect(r.match('a.b')).toEqual([3]);
  });

  it('a result with many wildcard values (kept in the bounded cache) follows changes too', () => {
    const r = new Router<number>();
    r.add('a.b', 0);
    for (let i = 1; i <= 200; i++) r.add(i % 2 ? 'a.*' : 'a.>', i);
    expect(new Set(r.match('a.b')).size).toBe(201);
    expect(r.match('a.b')).toHaveLength(201);
    r.remove('a.*', 1);
    r.add('a.b', 1000);
    const got = r.match('a.b');
    expect(got).toHaveLength(201);
    expect(got).toContain(1000);
    expect(got).not.toContain(1);
  });

  it('add and remove report whether anything changed', () => {
    const r = new Router<number>();
    expect(r.add('a', 1)).toBe(true);
    expect(r.add('a', 1)).toBe(false);
    expect(r.remove('a', 2)).toBe(false);
    expect(r.remove('a', 1)).toBe(true);
    expect(r.match('a')).toEqual([]);
  });
});

function expected(oracle: Map<string, Set<number>>, topic: string): Set<number> {
  const out = new Set<number>();
  for (const [pattern, values] of oracle) if (matches(pattern, topic)) for (const v of values) out.add(v);
  return out;
}
