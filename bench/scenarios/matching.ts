/**
 * Scenario 5 (issue 7): topic matching in-process. 1M subscriptions (99% literal, 1% `*`, some `>`),
 * then 1M matches and subscribe/unsubscribe churn, for Herald's Router vs qlobber (QlobberDedup)
 * vs a plain Map holding the literal subscriptions only (the floor). Each structure lives in its own
 * pinned child; batches are interleaved across arms with a second Herald as the A-vs-A control.
 */
import { Child, CPU, stopAll } from '../lib/children.js';
import type { ScenarioResult } from '../lib/report.js';
import { fmtRatio, interleave, median, ratio, round } from '../lib/stats.js';
import type { ScenarioContext } from './types.js';

const ARMS = ['herald', 'herald-control', 'qlobber', 'map'] as const;
type Arm = (typeof ARMS)[number];
const KIND: Record<Arm, string> = { herald: 'herald', 'herald-control': 'herald', qlobber: 'qlobber', map: 'map' };
const LABEL: Record<Arm, string> = { herald: 'Herald Router', 'herald-control': 'Herald (control)', qlobber: 'qlobber', map: 'Map (literal only)' };

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const subscriptions = ctx.quick ? 200_000 : 1_000_000;
  const rounds = ctx.rounds ?? 5;
  // 1M matches in total per arm, split over the rounds.
  const matchesPerRound = Math.round((ctx.quick ? 200_000 : 1_000_000) / rounds);
  const churnPerRound = Math.round((ctx.quick ? 20_000 : 100_000) / rounds);
  const children = Object.fromEntries(ARMS.map((a) => [a, new Child(`matching:${a}`, 'lib/matching-child.ts', [KIND[a], String(subscriptions)], {
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
    const matchNs = await interleave(ARMS, rounds, async (a) => {
      const r = await children[a].call<{ cpuMicros: number; checksum: number }>('match', { count: matchesPerRound });
      (checksums[a] ??= []).push(r.checksum);
      return (r.cpuMicros * 1000) / matchesPerRound;
    });
    const churnNs = await interleave(ARMS, rounds, async (a, r) => {
      const res = await children[a].call<{ cpuMicros: number }>('churn', { count: churnPerRound, seed: 1000 + r });
      return (res.cpuMicros * 1000) / churnPerRound;
    });
    const vsQ = ratio(matchNs.herald, matchNs.qlobber);
    const vsMap = ratio(matchNs.herald, matchNs.map);
    const churnVsQ = ratio(churnNs.herald, churnNs.qlobber);
    const heapVsQ = built.herald!.heapBytesPerSubscription / built.qlobber!.heapBytesPerSubscription;
    const agree = checksums.herald!.every((c, i) => c === checksums.qlobber![i]);
    return {
      name: 'matching',
      title: 'Topic matching (1M subscriptions)',
      method:
        `${subscriptions.toLocaleString('en-US')} subscriptions on topics \`org.O.room.R\` (1,000 × 1,000): 99% literal, 1% wildcards ` +
        '(80% `org.O.room.*`, 10% `org.*.room.R`, 10% `org.O.>`); the Map arm holds the literal ones only. ' +
        `${(matchesPerRound * rounds).toLocaleString('en-US')} matches of random literal topics and ${(churnPerRound * rounds).toLocaleString('en-US')} churn steps ` +
        `(unsubscribe, match, resubscribe) per arm in ${rounds} interleaved rounds; CPU time in each arm's own pinned process.`,
      tables: [{
        caption: 'ns per operation (median of rounds), heap per subscription, ratios of Herald to each peer',
        columns: ['', ...ARMS.map((a) => LABEL[a]), 'Herald ÷ qlobber', 'Herald ÷ Map', 'A-vs-A'],
        rows: [
          ['match, ns', ...ARMS.map((a) => Math.round(median(matchNs[a]))), fmtRatio(vsQ), fmtRatio(vsMap), fmtRatio(ratio(matchNs.herald, matchNs['herald-control']))],
          ['churn step, ns', ...ARMS.map((a) => Math.round(median(churnNs[a]))), fmtRatio(churnVsQ), fmtRatio(ratio(churnNs.herald, churnNs.map)), fmtRatio(ratio(churnNs.herald, churnNs['herald-control']))],
          ['build 1M, ms', ...ARMS.map((a) => Math.round(built[a]!.buildMs)), `${round(built.herald!.buildMs / built.qlobber!.buildMs)}×`, `${round(built.herald!.buildMs / built.map!.buildMs)}×`, ''],
          ['heap per subscription, B', ...ARMS.map((a) => Math.round(built[a]!.heapBytesPerSubscription)), `${round(heapVsQ)}×`, `${round(built.herald!.heapBytesPerSubscription / built.map!.heapBytesPerSubscription)}×`, ''],
        ],
      }],
      targets: [
        { description: 'match time ≤ 0.5× qlobber', measured: fmtRatio(vsQ), met: vsQ.median <= 0.5 },
        { description: 'match time ≤ 2× Map', measured: fmtRatio(vsMap), met: vsMap.median <= 2 },
        { description: 'heap per subscription ≤ qlobber', measured: `${round(heapVsQ)}×`, met: heapVsQ <= 1 },
      ],
      notes: [
        `Herald and qlobber results agree on every round (sum of match sizes): ${agree ? 'yes' : 'NO'}.`,
        'Heap figures are heapUsed after a forced GC, before vs after building; the Map arm stores only the 99% literal subscriptions.',
      ],
      raw: { subscriptions, matchesPerRound, churnPerRound, built, matchNs, churnNs, checksums },
    };
  } finally {
    await stopAll(Object.values(children));
  }
}
