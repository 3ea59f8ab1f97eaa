/**
 * Scenario 4 (issues 3 and 7): SSE fan-out, 1 topic × 1,000 EventSource-style streams. Herald's SSE
 * transport vs a hand-written server doing one `res.write` per event per client and a hand-written
 * single-chunk server (one write per client per turn). Server CPU per delivered event, interleaved.
 */
import { stopAll, type Child } from '../lib/children.js';
import { fanoutRound, type FanoutSample } from '../lib/fanout-round.js';
import { connectGroup, startClients, startServers, type ServerHandle } from '../lib/fleet.js';
import type { ScenarioResult } from '../lib/report.js';
import { ratioTarget, type Target } from '../lib/verdict.js';
import { fmtRatio, interleave, median, ratio } from '../lib/stats.js';
import type { ScenarioContext } from './types.js';

const ARMS = ['herald', 'herald-control', 'per-event', 'single-chunk'] as const;
type Arm = (typeof ARMS)[number];
const PEERS: Record<Arm, { peer: string }> = {
  herald: { peer: 'herald-sse' }, 'herald-control': { peer: 'herald-sse' }, 'per-event': { peer: 'sse-per-event' }, 'single-chunk': { peer: 'sse-single-chunk' },
};
const LABEL: Record<Arm, string> = { herald: 'Herald SSE', 'herald-control': 'Herald (control)', 'per-event': 'per-event res.write', 'single-chunk': 'single-chunk' };
const SUBSCRIBERS = 1000;
const TOPIC = 'bench.sse';

const CONFIGS = [
  { key: '64B-burst16', payloadBytes: 64, burstSize: 16, bursts: 8, gapMs: 60 },
  { key: '64B-burst1', payloadBytes: 64, burstSize: 1, bursts: 80, gapMs: 6 },
];

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const rounds = ctx.rounds ?? (ctx.quick ? 3 : 5);
  let servers: Record<Arm, ServerHandle> | undefined;
  let clients: Child[] = [];
  try {
    servers = await startServers(PEERS, ctx.profile);
    clients = startClients(2);
    for (const arm of ARMS) await connectGroup(clients, { tag: arm, dialect: 'sse', port: servers[arm].port, total: SUBSCRIBERS, topic: TOPIC });
    ctx.log(`  ${SUBSCRIBERS} SSE streams on each of ${ARMS.map((a) => LABEL[a]).join(', ')}`);
    const out: Record<string, { samples: Record<Arm, FanoutSample[]>; cost: Record<Arm, number[]> }> = {};
    for (const c of CONFIGS.filter((x) => !ctx.only || x.key.includes(ctx.only))) {
      const samples = Object.fromEntries(ARMS.map((a) => [a, [] as FanoutSample[]])) as Record<Arm, FanoutSample[]>;
      const bursts = ctx.quick ? Math.ceil(c.bursts / 2) : c.bursts;
      const cost = await interleave(ARMS, rounds, async (arm) => {
        const s = await fanoutRound(servers![arm].child, clients, arm, { topic: TOPIC, payloadBytes: c.payloadBytes, burstSize: c.burstSize, bursts, gapMs: c.gapMs }, SUBSCRIBERS);
        samples[arm].push(s);
        return s.nsPerDelivery;
      });
      out[c.key] = { samples, cost };
      ctx.log(`  ${c.key}: ${ARMS.map((a) => `${LABEL[a]} ${Math.round(median(cost[a]))} ns`).join(', ')}`);
    }
    const rows = Object.entries(out).map(([key, { cost, samples }]) => [
      key, ...ARMS.map((a) => Math.round(1e9 / median(cost[a])).toLocaleString('en-US')),
      fmtRatio(ratio(cost['per-event'], cost.herald)), fmtRatio(ratio(cost['single-chunk'], cost.herald)), fmtRatio(ratio(cost['herald-control'], cost.herald)),
      ARMS.map((a) => samples[a].reduce((s, x) => s + x.expected - x.delivered, 0)).join('/'),
    ]);
    const targets: Target[] = [];
    const b16 = out['64B-burst16'];
    if (b16) {
      const vsPer = ratio(b16.cost['per-event'], b16.cost.herald);
      const vsSingle = ratio(b16.cost['single-chunk'], b16.cost.herald);
      const control = ratio(b16.cost['herald-control'], b16.cost.herald);
      targets.push(ratioTarget('issue 3: burst 16: deliveries per CPU-second ≥ 3× per-event res.write', vsPer, 3, 'higher', control));
      targets.push(ratioTarget('issue 7: burst 16: ≥ 0.8× the single-chunk server', vsSingle, 0.8, 'higher', control));
    }
    return {
      name: 'sse',
      title: 'SSE fan-out (1 topic × 1,000 streams)',
      method:
        `Deliveries per server CPU-second (server-side publish in bursts, as in the WS fan-out), ${rounds} interleaved rounds; ` +
        'clients are raw-socket HTTP/1.1 streams that de-chunk and count `data: {"op":"msg"…` events. Herald events also carry a per-stream resumable `id:` line; the hand-written servers send none.',
      tables: [{
        caption: 'deliveries per server CPU-second (median) and Herald ÷ baseline',
        columns: ['variant', ...ARMS.map((a) => LABEL[a]), 'Herald ÷ per-event', 'Herald ÷ single-chunk', 'A-vs-A', `drops (${ARMS.join('/')})`],
        rows,
      }],
      targets,
      notes: [],
      raw: out,
    };
  } finally {
    await stopAll([...Object.values(servers ?? {}).map((s) => (s as ServerHandle).child), ...clients]);
  }
}
