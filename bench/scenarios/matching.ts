/**
 * Scenario 5 (issue 7): topic matching in-process. 1M subscriptions (99% literal, 1% `*`, some `>`),
 * then 1M matches and subscribe/unsubscribe churn, for Herald's Router vs qlobber (QlobberDedup)
 * vs a plain Map holding the literal subscriptions only (the floor). Each structure lives in its own
 * pinned child; batches are interleaved across arms with a second Herald as the A-vs-A control.
 */
import { Child, CPU, stopAll } from '../lib/children.js';
import type { ScenarioResult } from '../lib/report.js';
import { ratioTarget } from '../lib/verdict.js';
import { fmtRatio, interleave, median, ratio, round } from '../lib/stats.js';
import type { ScenarioContext } from './types.js';

const ARMS = ['herald', 'herald-control', 'qlobber', 'herald-literal', 'map'] as const;
type Arm = (typeof ARMS)[number];
const SPEC: Record<Arm, [kind: string, subscriptions: 'all' | 'literal']> = {
  herald: ['herald', 'all'], 'herald-control': ['herald', 'all'], qlobber: ['qlobber', 'all'], 'herald-literal': ['herald', 'literal'], map: ['map', 'literal'],
};
const LABEL: Record<Arm, string> = { herald: 'Herald Router', 'herald-control': 'Herald (control)', qlobber: 'qlobber', 'herald-literal': 'Herald, literal only', map: 'Map, literal only' };
const DISTS = ['uniform', 'zipf'] as const;

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const subscriptions = ctx.quick ? 200_000 : 1_000_000;
  const rounds = ctx.rounds ?? 5;
  // 1M matches in total per arm, split over the rounds.
  const matchesPerRound = Math.round((ctx.quick ? 200_000 : 1_000_000) / rounds);
  const churnPerRound = Math.round((ctx.quick ? 20_000 : 100_000) / rounds);
  const children = Object.fromEntries(ARMS.map((a) => [a, new Child(`matching:${a}`, 'lib/matching-child.ts', [SPEC[a][0], String(subscriptions), SPEC[a][1]], {
    cpu: CPU.server, nodeArgs: ['--expose-gc', '--max-old-space-size=4096'],
  })])) as Record<Arm, Child>;
  try {
    const built: Partial<Record<Arm, { subscriptions: number; buildMs: number; heapBytesPerSubscription: number }>> = {};
    // Built one after the other: they share the server CPU.
    for (const a of ARMS) {
      built[a] = await children[a].call('build', {}, 600_000);
      ctx.log(`  ${LABEL[a]}: ${built[a]!.subscriptions} subscriptions in ${Math.round(built[a]!.buildMs)} ms, ${Math.round(built[a]!.heapBytesPerSubscription)} B heap each`);
    }
    const checksums: Record<string, number[]> = {};
    const matchNs = {} as Record<(typeof DISTS)[number], Record<Arm, number[]>>;
    for (const dist of DISTS) {
      matchNs[dist] = await interleave(ARMS, rounds, async (a) => {
        const r = await children[a].call<{ cpuMicros: number; checksum: number }>('match', { count: matchesPerRound, dist });
        (checksums[`${a}:${dist}`] ??= []).push(r.checksum);
        return (r.cpuMicros * 1000) / matchesPerRound;
      });
    }
    const churnNs = await interleave(ARMS, rounds, async (a, r) => {
      const res = await children[a].call<{ cpuMicros: number; checksum: number }>('churn', { count: churnPerRound, seed: 1000 + r });
      (checksums[`${a}:churn`] ??= [])[r] = res.checksum;
      return (res.cpuMicros * 1000) / churnPerRound;
    });
    const after: Partial<Record<Arm, number>> = {};
    for (const a of ARMS) after[a] = (await children[a].call<{ heapBytesPerSubscription: number }>('heap', {})).heapBytesPerSubscription;
    const vsQ = ratio(matchNs.uniform.herald, matchNs.uniform.qlobber);
    const vsQz = ratio(matchNs.zipf.herald, matchNs.zipf.qlobber);
    const vsMap = ratio(matchNs.uniform['herald-literal'], matchNs.uniform.map);
    const vsMapz = ratio(matchNs.zipf['herald-literal'], matchNs.zipf.map);
    const churnVsQ = ratio(churnNs.herald, churnNs.qlobber);
    const heapVsQ = built.herald!.heapBytesPerSubscription / built.qlobber!.heapBytesPerSubscription;
    const heapAfterVsQ = after.herald! / after.qlobber!;
    const agree = [...DISTS, 'churn'].every((d) => checksums[`herald:${d}`]!.every((c, i) => c === checksums[`qlobber:${d}`]![i])
      && checksums[`herald-literal:${d}`]!.every((c, i) => c === checksums[`map:${d}`]![i]));
    const matchRow = (dist: (typeof DISTS)[number]): (string | number)[] => [`match (${dist}), ns`, ...ARMS.map((a) => Math.round(median(matchNs[dist][a]))),
      fmtRatio(ratio(matchNs[dist].herald, matchNs[dist].qlobber)), fmtRatio(ratio(matchNs[dist]['herald-literal'], matchNs[dist].map)), fmtRatio(ratio(matchNs[dist].herald, matchNs[dist]['herald-control']))];
    return {
      name: 'matching',
      title: 'Topic matching (1M subscriptions)',
      method:
        `${subscriptions.toLocaleString('en-US')} subscriptions on topics \`org.O.room.R\` (1,000 × 1,000): 99% literal, 1% wildcards ` +
        '(80% `org.O.room.*`, 10% `org.*.room.R`, 10% `org.O.>`); the "literal only" arms hold just the 99%. ' +
        `${(matchesPerRound * rounds).toLocaleString('en-US')} matches per topic distribution (uniform over the 1M topics, and Zipf) and ${(churnPerRound * rounds).toLocaleString('en-US')} churn steps ` +
        `(unsubscribe, match, resubscribe) per arm in ${rounds} interleaved rounds; CPU time in each arm's own pinned process.`,
      tables: [{
        caption: 'ns per operation (median of rounds), build time, heap per subscription; Herald ÷ qlobber on all subscriptions, Herald ÷ Map on the literal ones',
        columns: ['', ...ARMS.map((a) => LABEL[a]), 'Herald ÷ qlobber', 'Herald ÷ Map (literal)', 'A-vs-A'],
        rows: [
          matchRow('uniform'),
          matchRow('zipf'),
          ['churn step, ns', ...ARMS.map((a) => Math.round(median(churnNs[a]))), fmtRatio(churnVsQ), fmtRatio(ratio(churnNs['herald-literal'], churnNs.map)), fmtRatio(ratio(churnNs.herald, churnNs['herald-control']))],
          ['build, ms', ...ARMS.map((a) => Math.round(built[a]!.buildMs)), `${round(built.herald!.buildMs / built.qlobber!.buildMs)}×`, `${round(built['herald-literal']!.buildMs / built.map!.buildMs)}×`, ''],
          ['heap per subscription, B', ...ARMS.map((a) => Math.round(built[a]!.heapBytesPerSubscription)), `${round(heapVsQ)}×`, `${round(built['herald-literal']!.heapBytesPerSubscription / built.map!.heapBytesPerSubscription)}×`, ''],
          ['heap per subscription after matching, B', ...ARMS.map((a) => Math.round(after[a]!)), `${round(heapAfterVsQ)}×`, `${round(after['herald-literal']! / after.map!)}×`, ''],
        ],
      }],
      targets: [
        ratioTarget('match time ≤ 0.5× qlobber (uniform topics)', vsQ, 0.5, 'lower', ratio(matchNs.uniform.herald, matchNs.uniform['herald-control'])),
        ratioTarget('match time ≤ 0.5× qlobber (Zipf topics)', vsQz, 0.5, 'lower', ratio(matchNs.zipf.herald, matchNs.zipf['herald-control'])),
        ratioTarget('match time ≤ 2× Map, literal subscriptions (uniform topics)', vsMap, 2, 'lower', ratio(matchNs.uniform.herald, matchNs.uniform['herald-control'])),
        ratioTarget('match time ≤ 2× Map, literal subscriptions (Zipf topics)', vsMapz, 2, 'lower', ratio(matchNs.zipf.herald, matchNs.zipf['herald-control'])),
        // One build per arm: the control's heap is the one-sample noise band.
        ratioTarget('heap per subscription ≤ qlobber', ratio([heapVsQ], [1]), 1, 'lower',
          ratio([built.herald!.heapBytesPerSubscription], [built['herald-control']!.heapBytesPerSubscription])),
        ratioTarget('heap per subscription after matching ≤ qlobber', ratio([heapAfterVsQ], [1]), 1, 'lower',
          ratio([after.herald!], [after['herald-control']!])),
      ],
      notes: [
        `Herald agrees with qlobber, and Herald (literal) with Map, on every round (sum of match sizes): ${agree ? 'yes' : 'NO'}.`,
        'Herald keeps a literal topic\'s full result on its exact entry, stamped with the wildcard generation, so uniform topics do not miss a bounded cache; a wildcard subscribe or unsubscribe makes every kept result stale (recomputed on next match).',
        'Heap figures are heapUsed after a forced GC against the heap before building: once right after building, once after all match and churn rounds (kept results included).',
      ],
      raw: { subscriptions, matchesPerRound, churnPerRound, built, heapAfter: after, matchNs, churnNs, checksums },
    };
  } finally {
    await stopAll(Object.values(children));
  }
}
