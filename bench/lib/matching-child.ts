/**
 * Matching child (scenario `matching`): builds one topic-matching structure with the shared
 * deterministic workload, then answers timed batches of matches and subscribe/unsubscribe churn.
 * One structure per process, so heap per subscription is measured on a clean heap.
 * Usage: matching-child.ts <herald|qlobber|map> <subscriptions> <all|literal>
 */
import { createRequire } from 'node:module';
import { Router } from '../../core/router.js';
import { cpuMicros, serve } from './child-runtime.js';

interface Matcher {
  add(pattern: string, value: number): void;
  remove(pattern: string, value: number): void;
  /** Number of values matching (so results are used and comparable across arms). */
  count(topic: string): number;
}

interface QlobberLike {
  add(topic: string, val: number): unknown;
  remove(topic: string, val: number): unknown;
  match(topic: string): Set<number>;
}

function makeMatcher(kind: string): Matcher {
  if (kind === 'herald') {
    const r = new Router<number>();
    return { add: (p, v) => void r.add(p, v), remove: (p, v) => void r.remove(p, v), count: (t) => r.match(t).length };
  }
  if (kind === 'qlobber') {
    // QlobberDedup: like Herald's router, a value under several matching patterns counts once.
    const { QlobberDedup } = createRequire(import.meta.url)('qlobber') as { QlobberDedup: new (o: object) => QlobberLike };
    const q = new QlobberDedup({ separator: '.', wildcard_one: '*', wildcard_some: '>' });
    return { add: (p, v) => void q.add(p, v), remove: (p, v) => void q.remove(p, v), count: (t) => q.match(t).size };
  }
  if (kind === 'map') {
    // Literal topics only: the floor any router pays (one hash lookup).
    const m = new Map<string, Set<number>>();
    return {
      add: (p, v) => { let s = m.get(p); if (!s) m.set(p, (s = new Set())); s.add(v); },
      remove: (p, v) => { const s = m.get(p); if (s?.delete(v) && s.size === 0) m.delete(p); },
      count: (t) => m.get(t)?.size ?? 0,
    };
  }
  throw new Error(`unknown matcher ${kind}`);
}

/** Deterministic PRNG (mulberry32) so every arm builds and queries the same workload. */
/** A concrete topic that `pattern` matches (`*` → one token, `>` → two). */
function topicCoveredBy(pattern: string): string {
  return pattern.split('.').map((t) => (t === '*' ? '1' : t === '>' ? 'room.1' : t)).join('.');
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ORGS = 1000;
const ROOMS = 1000;
const topicOf = (o: number, r: number): string => `org.${o}.room.${r}`;

/**
 * The workload: `n` subscriptions, 99% literal `org.O.room.R`, 1% wildcards (80% `org.O.room.*`,
 * 10% `org.*.room.R`, 10% `org.O.>`). The `map` arm gets the literal ones only.
 */
function subscriptions(n: number, literalOnly: boolean): string[] {
  const random = rng(42);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const o = Math.floor(random() * ORGS);
    const r = Math.floor(random() * ROOMS);
    const w = random();
    if (i % 100 !== 99) out.push(topicOf(o, r));
    else if (literalOnly) continue;
    else if (w < 0.8) out.push(`org.${o}.room.*`);
    else if (w < 0.9) out.push(`org.*.room.${r}`);
    else out.push(`org.${o}.>`);
  }
  return out;
}

const [kind, nArg, which] = process.argv.slice(2);
const n = Number(nArg);
const matcher = makeMatcher(kind!);
const patterns = subscriptions(n, which === 'literal');

/**
 * Query topics. `uniform`: any of the 1M topics alike (every match misses a result cache).
 * `zipf`: rank k drawn with probability ∝ 1/k (log-uniform rank), ranks scattered over the topic
 * space by a fixed permutation: a few hot topics, a long tail, as publish traffic tends to be.
 */
const QUERY_SETS: Record<string, string[]> = (() => {
  const random = rng(7);
  const uniform = Array.from({ length: 100_000 }, () => topicOf(Math.floor(random() * ORGS), Math.floor(random() * ROOMS)));
  const total = ORGS * ROOMS;
  const zipf = Array.from({ length: 100_000 }, () => {
    const rank = Math.min(total - 1, Math.floor(Math.exp(random() * Math.log(total))) - 1);
    const slot = Number((BigInt(rank) * 2654435761n) % BigInt(total));
    return topicOf(Math.floor(slot / ROOMS), slot % ROOMS);
  });
  return { uniform, zipf };
})();

/** heapUsed before building, after a forced GC: the base of both heap figures. */
let heap0 = 0;

serve({
  build: () => {
    global.gc?.();
    heap0 = process.memoryUsage().heapUsed;
    const c0 = cpuMicros();
    for (let i = 0; i < patterns.length; i++) matcher.add(patterns[i]!, i);
    const cpu = cpuMicros() - c0;
    global.gc?.();
    const heap = process.memoryUsage().heapUsed - heap0;
    return { subscriptions: patterns.length, buildMs: cpu / 1000, heapBytesPerSubscription: heap / patterns.length };
  },
  /**
   * Heap per subscription now, after the matches and churn: what a structure keeps for the topics it
   * was asked about (Herald keeps a literal topic's full result on its entry) counts here.
   */
  heap: () => {
    global.gc?.();
    return { heapBytesPerSubscription: (process.memoryUsage().heapUsed - heap0) / patterns.length };
  },
  /** `count` matches over the fixed query set; CPU µs and a checksum of result sizes. */
  match: ({ count, dist }: { count: number; dist: string }) => {
    const queries = QUERY_SETS[dist]!;
    let total = 0;
    const c0 = cpuMicros();
    for (let i = 0; i < count; i++) total += matcher.count(queries[i % queries.length]!);
    return { cpuMicros: cpuMicros() - c0, checksum: total };
  },
  /** Churn: `count` unsubscribe + resubscribe pairs, each followed by one match of that topic. */
  churn: ({ count, seed }: { count: number; seed: number }) => {
    const random = rng(seed);
    let total = 0;
    const c0 = cpuMicros();
    // One step: unsubscribe a random subscription, match a topic it covers (so the match must see
    // the change, through any result cache), resubscribe. The checksum proves every arm saw it.
    for (let i = 0; i < count; i++) {
      const j = Math.floor(random() * patterns.length);
      const p = patterns[j]!;
      matcher.remove(p, j);
      total += matcher.count(topicCoveredBy(p));
      matcher.add(p, j);
    }
    return { cpuMicros: cpuMicros() - c0, checksum: total };
  },
});
