/**
 * Scenario 1 (issues 2 and 7): WebSocket fan-out, 1 topic × 1,000 subscribers, 64 B and 1 KiB
 * payloads, bursts of 1 and 16 publications per event-loop turn. Measures server CPU time per
 * delivered message for Herald, a second Herald (A-vs-A control), a naive `ws` broadcast loop, a
 * raw batched reference and uWS.js. Publications are made inside the server process (the app-side
 * publish path), so every server does the same job: the cost measured is fan-out, not parsing.
 */
import { stopAll, type Child } from '../lib/children.js';
import { fanoutRound, type FanoutSample as Sample } from '../lib/fanout-round.js';
import { connectGroup, startClients, startServers, type ServerHandle } from '../lib/fleet.js';
import type { ScenarioResult } from '../lib/report.js';
import { ratioTarget, type Target } from '../lib/verdict.js';
import type { BurstParams } from '../lib/server-child.js';
import { fmtRatio, interleave, median, ratio, type RatioSummary } from '../lib/stats.js';
import type { ScenarioContext } from './types.js';

const ARMS = ['herald', 'herald-control', 'naive', 'batched', 'uws'] as const;
type Arm = (typeof ARMS)[number];
const PEERS: Record<Arm, { peer: string }> = {
  herald: { peer: 'herald-ws' },
  'herald-control': { peer: 'herald-ws' },
  naive: { peer: 'naive-ws' },
  batched: { peer: 'batched-ws' },
  uws: { peer: 'uws' },
};
const LABEL: Record<Arm, string> = { herald: 'Herald', 'herald-control': 'Herald (control)', naive: 'naive ws', batched: 'batched ref', uws: 'uWS.js' };
const SUBSCRIBERS = 1000;
const TOPIC = 'bench.fanout';

interface Config { payloadBytes: number; burstSize: number; bursts: number; gapMs: number }

function configs(quick: boolean): Config[] {
  // Bursts and gaps keep every round near 100–200k deliveries (about a second of server time for
  // the naive loop) while leaving idle time between bursts for the load processes to drain.
  const s = quick ? 0.5 : 1;
  return [
    { payloadBytes: 64, burstSize: 1, bursts: Math.round(120 * s), gapMs: 4 },
    { payloadBytes: 64, burstSize: 16, bursts: Math.round(12 * s), gapMs: 40 },
    { payloadBytes: 1024, burstSize: 1, bursts: Math.round(100 * s), gapMs: 5 },
    { payloadBytes: 1024, burstSize: 16, bursts: Math.round(10 * s), gapMs: 50 },
  ];
}

const keyOf = (c: Config): string => `${c.payloadBytes}B-burst${c.burstSize}`;


export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const rounds = ctx.rounds ?? (ctx.quick ? 3 : 4);
  let servers: Record<Arm, ServerHandle> | undefined;
  let clients: Child[] = [];
  try {
    servers = await startServers(PEERS, ctx.profile);
    clients = startClients(2);
    for (const arm of ARMS) {
      await connectGroup(clients, { tag: arm, dialect: 'herald', port: servers[arm].port, total: SUBSCRIBERS, topic: TOPIC });
      ctx.log(`  ${SUBSCRIBERS} subscribers on ${LABEL[arm]}`);
    }
    const byConfig: { config: Config; samples: Record<Arm, Sample[]>; cost: Record<Arm, number[]> }[] = [];
    for (const config of configs(ctx.quick).filter((c) => !ctx.only || keyOf(c).includes(ctx.only))) {
      const samples = Object.fromEntries(ARMS.map((a) => [a, [] as Sample[]])) as Record<Arm, Sample[]>;
      const params: BurstParams = { topic: TOPIC, ...config };
      const cost = await interleave(ARMS, rounds, async (arm) => {
        const s = await fanoutRound(servers![arm].child, clients, arm, params, SUBSCRIBERS);
        samples[arm].push(s);
        return s.nsPerDelivery;
      });
      byConfig.push({ config, samples, cost });
      ctx.log(`  ${config.payloadBytes} B × burst ${config.burstSize}: ${ARMS.map((a) => `${LABEL[a]} ${Math.round(median(cost[a]))} ns (kernel ${Math.round(median(samples[a].map((x) => x.systemNsPerDelivery)))})`).join(', ')}`);
    }
    return report(byConfig, rounds);
  } finally {
    await stopAll([...Object.values(servers ?? {}).map((s) => (s as ServerHandle).child), ...clients]);
  }
}

function report(byConfig: { config: Config; samples: Record<Arm, Sample[]>; cost: Record<Arm, number[]> }[], rounds: number): ScenarioResult {
  const rows: (string | number)[][] = [];
  const targets: Target[] = [];
  const raw: Record<string, unknown> = {};
  for (const { config, samples, cost } of byConfig) {
    const key = keyOf(config);
    const vsNaive = ratio(cost.herald, cost.naive);
    const vsUws = ratio(cost.uws, cost.herald); // throughput per CPU: Herald ÷ uWS = uWS cost ÷ Herald cost
    const vsBatched = ratio(cost.herald, cost.batched);
    const control = ratio(cost.herald, cost['herald-control']);
    const drops = ARMS.map((a) => samples[a].reduce((s, x) => s + (x.expected - x.delivered), 0));
    rows.push([
      `${config.payloadBytes} B`, config.burstSize,
      ...ARMS.map((a) => Math.round(median(cost[a]))),
      fmtRatio(vsNaive), fmtRatio(invert(vsNaive), 1), fmtRatio(vsUws), fmtRatio(vsBatched), fmtRatio(control),
    ]);
    raw[key] = { config, nsPerDelivery: cost, samples, ratios: { heraldOverNaiveCpu: vsNaive, heraldOverUwsThroughputPerCpu: vsUws, heraldOverBatchedCpu: vsBatched, control }, drops: Object.fromEntries(ARMS.map((a, i) => [a, drops[i]])) };
    if (config.payloadBytes === 64 && config.burstSize === 16) {
      targets.push(ratioTarget('issue 2: 64 B, burst 16: Herald CPU/delivery ≤ 0.1× naive ws', vsNaive, 0.1, 'lower', control));
      targets.push(ratioTarget('issue 7: 64 B, burst 16: throughput/CPU ≥ 10× naive ws', invert(vsNaive), 10, 'higher', control, 1));
      targets.push(ratioTarget('issue 7: 64 B, burst 16: throughput/CPU ≥ 1.0× uWS.js', vsUws, 1, 'higher', control));
    }
    if (config.payloadBytes === 64 && config.burstSize === 1) {
      targets.push(ratioTarget('issues 2, 7: 64 B, burst 1: Herald CPU/delivery ≤ 1.0× naive ws', vsNaive, 1, 'lower', control));
    }
  }
  return {
    name: 'fanout',
    title: 'WS fan-out (1 topic × 1,000 subscribers)',
    method:
      `Server CPU time (process.cpuUsage in the server process) per message delivered to a subscriber, in ns; ${rounds} interleaved rounds ` +
      'per row (arms rotated each round), each round ~100–200k deliveries published from inside the server process in bursts of 1 or 16 per event-loop turn. ' +
      'Every server sends the same `{op:"msg",topic,data,offset,epoch}` JSON text frame. Subscribers are raw-socket WebSocket clients in 2 load processes. ' +
      'Ratios are per-round, median (min–max).',
    tables: [{
      caption: 'ns of server CPU per delivery (median) and ratios',
      columns: ['payload', 'burst', ...ARMS.map((a) => `${LABEL[a]} ns`), 'Herald ÷ naive CPU', 'Herald thr/CPU vs naive', 'Herald thr/CPU vs uWS.js', 'Herald ÷ batched CPU', 'A-vs-A'],
      rows,
    }],
    targets,
    notes: [
      'Herald runs its standalone defaults (memory adapter with history of 100 per topic, presence tracking); the peers keep no state besides subscriber sets.',
      'batched ref = prebuilt frames, one Buffer.concat per topic per turn, one write per socket per turn, no protocol: the floor for a Node fan-out.',
      `A round with drops fails (its cost counts as infinite against that arm). Drops (expected − delivered, all rounds): ${byConfig.map(({ config, samples }) => `${config.payloadBytes}B/b${config.burstSize}: ${ARMS.map((a) => samples[a].reduce((s, x) => s + (x.expected - x.delivered), 0)).join('/')}`).join('; ')} (order: ${ARMS.join('/')}).`,
    ],
    raw,
  };
}

function invert(r: RatioSummary): RatioSummary {
  return { median: 1 / r.median, min: 1 / r.max, max: 1 / r.min, rounds: r.rounds };
}

