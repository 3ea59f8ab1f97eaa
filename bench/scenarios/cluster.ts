/**
 * Cross-node scenario (issues 4 and 7): a publisher on node A, 1,000 subscribers on node B, both
 * Herald nodes clustered through one nats-server (JetStream history in memory storage), against
 * the same load on a single node (also on the NATS adapter, so only the hop between nodes differs)
 * and a second single node as the A-vs-A control. Open-loop publisher, HdrHistogram latency,
 * delivered messages per second, and the CPU of every process on the path per delivery.
 */
import { CPU, Child, stopAll } from '../lib/children.js';
import { connectGroup, startClients, startServers, type ServerHandle } from '../lib/fleet.js';
import { merge, summarize, type LatencySummary } from '../lib/histogram.js';
import { procCpuMicros } from '../lib/proc-cpu.js';
import type { ScenarioResult } from '../lib/report.js';
import { differenceTarget, ratioTarget, type Target } from '../lib/verdict.js';
import { interleave, median, ratio, sleep } from '../lib/stats.js';
import { startNatsServer, type NatsServer } from '../peers/nats-server.js';
import type { ScenarioContext } from './types.js';

const ARMS = ['cross', 'single', 'single-control'] as const;
type Arm = (typeof ARMS)[number];
const LABEL: Record<Arm, string> = { cross: 'A → NATS → B', single: 'single node', 'single-control': 'single node (control)' };
const SUBSCRIBERS = 1000;
const TOPIC = 'bench.cluster';

interface Variant { key: string; label: string; rate: number; burst: number }
const VARIANTS: Variant[] = [
  { key: 'steady', label: '100 msg/s', rate: 100, burst: 1 },
  { key: 'bursty', label: '320 msg/s in bursts of 16', rate: 20, burst: 16 },
];

interface RoundResult extends LatencySummary { deliveriesPerSecond: number; drops: number; cpuNsPerDelivery: number }

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const rounds = ctx.rounds ?? 3;
  const durationMs = ctx.quick ? 1500 : 2000;
  let nats: NatsServer | undefined;
  let servers: Record<'nodeA' | 'nodeB' | 'single' | 'single-control', ServerHandle> | undefined;
  let clients: Child[] = [];
  let publisher: Child | undefined;
  try {
    nats = await startNatsServer(CPU.server, { jetstream: true });
    const natsUrl = `nats://127.0.0.1:${nats.port}`;
    servers = await startServers({
      nodeA: { peer: 'herald-nats', options: { natsUrl, prefix: 'cross' } },
      nodeB: { peer: 'herald-nats', options: { natsUrl, prefix: 'cross' } },
      single: { peer: 'herald-nats', options: { natsUrl, prefix: 'single' } },
      'single-control': { peer: 'herald-nats', options: { natsUrl, prefix: 'single2' } },
    }, ctx.profile);
    clients = startClients(2);
    publisher = new Child('publisher', 'lib/load-client.ts', [], { cpu: CPU.clients });
    const path: Record<Arm, { publishTo: ServerHandle; subscribeTo: ServerHandle; involved: number[] }> = {
      cross: { publishTo: servers.nodeA, subscribeTo: servers.nodeB, involved: [servers.nodeA.pid, servers.nodeB.pid, nats.pid] },
      single: { publishTo: servers.single, subscribeTo: servers.single, involved: [servers.single.pid, nats.pid] },
      'single-control': { publishTo: servers['single-control'], subscribeTo: servers['single-control'], involved: [servers['single-control'].pid, nats.pid] },
    };
    for (const arm of ARMS) await connectGroup(clients, { tag: arm, dialect: 'herald', port: path[arm].subscribeTo.port, total: SUBSCRIBERS, topic: TOPIC });
    ctx.log(`  ${SUBSCRIBERS} subscribers on node B and on each single node`);
    await sleep(500); // interest propagates between nodes
    const results: Record<string, { variant: Variant; rounds: Record<Arm, RoundResult[]>; p99: Record<Arm, number[]>; rate: Record<Arm, number[]> }> = {};
    for (const variant of VARIANTS.filter((v) => !ctx.only || v.key.includes(ctx.only))) {
      const perArm = Object.fromEntries(ARMS.map((a) => [a, [] as RoundResult[]])) as Record<Arm, RoundResult[]>;
      const p99 = await interleave(ARMS, rounds, async (arm) => {
        await Promise.all(clients.map((c) => c.call('latencyStart', { tag: arm })));
        const cpu0 = path[arm].involved.map(procCpuMicros);
        const pub = await publisher!.call<{ sent: number }>('publish', {
          dialect: 'herald', host: '127.0.0.1', port: path[arm].publishTo.port, topic: TOPIC,
          rate: variant.rate, burst: variant.burst, durationMs, payloadBytes: 64,
        });
        await sleep(300);
        const cpu = path[arm].involved.map(procCpuMicros).reduce((s, c, i) => s + c - cpu0[i]!, 0);
        const h = merge(await Promise.all(clients.map((c) => c.call<string>('latencyTake', { tag: arm }))));
        const s = summarize(h);
        perArm[arm].push({ ...s, deliveriesPerSecond: s.count / (durationMs / 1000), drops: pub.sent * SUBSCRIBERS - s.count, cpuNsPerDelivery: (cpu * 1000) / s.count });
        return s.p99;
      });
      const rate = Object.fromEntries(ARMS.map((a) => [a, perArm[a].map((r) => r.deliveriesPerSecond)])) as Record<Arm, number[]>;
      results[variant.key] = { variant, rounds: perArm, p99, rate };
      ctx.log(`  ${variant.label}: p99 ${ARMS.map((a) => `${LABEL[a]} ${median(p99[a]).toFixed(2)} ms`).join(', ')}`);
    }
    return report(results, rounds, durationMs);
  } finally {
    await stopAll([...Object.values(servers ?? {}).map((s) => (s as ServerHandle).child), ...clients, publisher]);
    await nats?.stop();
  }
}

function report(results: Record<string, { variant: Variant; rounds: Record<Arm, RoundResult[]>; p99: Record<Arm, number[]>; rate: Record<Arm, number[]> }>, rounds: number, durationMs: number): ScenarioResult {
  const rows: (string | number)[][] = [];
  const targets: Target[] = [];
  for (const { variant, rounds: r, p99, rate } of Object.values(results)) {
    for (const arm of ARMS) {
      const m = (f: keyof RoundResult): number => median(r[arm].map((x) => x[f]));
      rows.push([variant.label, LABEL[arm], Math.round(m('deliveriesPerSecond')).toLocaleString('en-US'), m('p50').toFixed(2), m('p99').toFixed(2), m('max').toFixed(2),
        Math.round(m('cpuNsPerDelivery')), r[arm].reduce((s, x) => s + x.drops, 0)]);
    }
    const thr = ratio(rate.cross, rate.single);
    targets.push(ratioTarget(`${variant.label}: cross-node deliveries/s ≥ 0.8× single node`, thr, 0.8, 'higher', ratio(rate['single-control'], rate.single)));
    targets.push(differenceTarget(`${variant.label}: added p99 (cross − single) < 2 ms`, p99.cross.map((x, i) => x - p99.single[i]!), 2, 'lower',
      p99['single-control'].map((x, i) => x - p99.single[i]!), 'ms'));
  }
  return {
    name: 'cluster',
    title: 'Cross-node via NATS (publisher on A, 1,000 subscribers on B)',
    method:
      `Open-loop publisher (64 B, stamped with intended send time) for ${durationMs / 1000} s per round, ${rounds} interleaved rounds; ` +
      'both nodes and the single nodes run the NATS adapter against one nats-server (JetStream, memory storage), all pinned to the server CPU. ' +
      'Deliveries/s = messages received by the 1,000 subscribers within the round (plus 300 ms) ÷ its duration. ' +
      'CPU ns/delivery sums every process on the path (nodes from procfs, nats-server included).',
    tables: [{
      caption: 'medians over rounds',
      columns: ['load', 'path', 'deliveries/s', 'p50 ms', 'p99 ms', 'max ms', 'CPU ns/delivery (path)', 'drops'],
      rows,
    }],
    targets,
    notes: [
      'drops = messages not received within the round + 300 ms (late, not necessarily lost).',
      'Single node, bursts: a WebSocket publisher\'s `pub` commands run one at a time per session and each waits for its JetStream ack, so a burst of 16 reaches the local fan-out as 16 separate turns (one socket write per subscriber per message); on node B the same publications arrive from NATS together and go out in one write per subscriber per turn. The cross-node path is therefore cheaper per delivery here than the single node.',
    ],
    raw: results,
  };
}
