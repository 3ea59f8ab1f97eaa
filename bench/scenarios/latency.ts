/**
 * Scenario 2 (issue 7): end-to-end latency at a fixed load. 1,000 subscribers on one topic, an
 * open-loop publisher (its own process) at 100 msg/s, steady (1 per tick) and bursty (20 per tick,
 * 5 ticks/s): Herald vs uWS.js vs nats-server over WebSocket. Each message carries its intended send
 * time, so a stall shows up as latency instead of a slower send rate (no coordinated omission).
 */
import { Child, CPU, stopAll } from '../lib/children.js';
import { connectGroup, startClients, startServers, type ServerHandle } from '../lib/fleet.js';
import { countLost, merge, summarize, type LatencySummary } from '../lib/histogram.js';
import type { ScenarioResult } from '../lib/report.js';
import { ratioTarget } from '../lib/verdict.js';
import { fmtRatio, interleave, median, ratio, sleep } from '../lib/stats.js';
import { startNatsServer, type NatsServer } from '../peers/nats-server.js';
import type { DialectName } from '../lib/dialects.js';
import type { ScenarioContext } from './types.js';

const ARMS = ['herald', 'herald-control', 'uws', 'nats'] as const;
type Arm = (typeof ARMS)[number];
const LABEL: Record<Arm, string> = { herald: 'Herald', 'herald-control': 'Herald (control)', uws: 'uWS.js', nats: 'nats-server (WS)' };
const SUBSCRIBERS = 1000;
const TOPIC = 'bench.latency';
/** How long after a round's last send a message may still arrive; later counts as dropped. */
const STRAGGLER_MS = 300;

interface Variant { key: string; label: string; rate: number; burst: number }
const VARIANTS: Variant[] = [
  { key: 'steady', label: '100 msg/s, 1 per tick', rate: 100, burst: 1 },
  { key: 'bursty', label: '100 msg/s, bursts of 20 every 200 ms', rate: 5, burst: 20 },
];

interface RoundResult extends LatencySummary { offered: number; achieved: number; expected: number; drops: number }

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  // p99 near saturation swings widely between rounds on this shared box: more rounds than elsewhere.
  const rounds = ctx.rounds ?? 5;
  const durationMs = ctx.quick ? 1500 : 2000;
  let servers: Record<'herald' | 'herald-control' | 'uws', ServerHandle> | undefined;
  let nats: NatsServer | undefined;
  let clients: Child[] = [];
  let publisher: Child | undefined;
  try {
    servers = await startServers({ herald: { peer: 'herald-ws' }, 'herald-control': { peer: 'herald-ws' }, uws: { peer: 'uws' } }, ctx.profile);
    nats = await startNatsServer(CPU.server);
    clients = startClients(2);
    publisher = new Child('publisher', 'lib/load-client.ts', [], { cpu: CPU.clients });
    const target: Record<Arm, { port: number; dialect: DialectName }> = {
      herald: { port: servers.herald.port, dialect: 'herald' },
      'herald-control': { port: servers['herald-control'].port, dialect: 'herald' },
      uws: { port: servers.uws.port, dialect: 'herald' },
      nats: { port: nats.wsPort, dialect: 'nats' },
    };
    for (const arm of ARMS) {
      await connectGroup(clients, { tag: arm, dialect: target[arm].dialect, port: target[arm].port, total: SUBSCRIBERS, topic: TOPIC });
    }
    ctx.log(`  ${SUBSCRIBERS} subscribers on each of ${ARMS.map((a) => LABEL[a]).join(', ')}`);
    const results: Record<string, { variant: Variant; rounds: Record<Arm, RoundResult[]>; p99: Record<Arm, number[]> }> = {};
    for (const variant of VARIANTS.filter((v) => !ctx.only || v.key.includes(ctx.only))) {
      const perArm = Object.fromEntries(ARMS.map((a) => [a, [] as RoundResult[]])) as Record<Arm, RoundResult[]>;
      const p99 = await interleave(ARMS, rounds, async (arm) => {
        await Promise.all(clients.map((c) => c.call('latencyStart', { tag: arm })));
        const pub = await publisher!.call<{ sent: number; offered: number; achieved: number }>('publish', {
          dialect: target[arm].dialect, host: '127.0.0.1', port: target[arm].port, topic: TOPIC,
          rate: variant.rate, burst: variant.burst, durationMs, payloadBytes: 64,
        });
        await sleep(STRAGGLER_MS); // stragglers; anything later than this counts as dropped
        const h = merge(await Promise.all(clients.map((c) => c.call<string>('latencyTake', { tag: arm }))));
        const expected = pub.sent * SUBSCRIBERS;
        const drops = Math.max(0, expected - h.totalCount);
        // A dropped message counts as the longest wait of the round: it weighs on p99 and max.
        const s = summarize(countLost(h, drops, durationMs + STRAGGLER_MS));
        perArm[arm].push({ ...s, offered: pub.offered, achieved: pub.achieved, expected, drops });
        return s.p99;
      });
      results[variant.key] = { variant, rounds: perArm, p99 };
      ctx.log(`  ${variant.label}: p99 ${ARMS.map((a) => `${LABEL[a]} ${median(p99[a]).toFixed(2)} ms`).join(', ')}`);
    }
    return report(results, rounds, durationMs);
  } finally {
    await stopAll([...Object.values(servers ?? {}).map((s) => (s as ServerHandle).child), ...clients, publisher]);
    await nats?.stop();
  }
}

function report(results: Record<string, { variant: Variant; rounds: Record<Arm, RoundResult[]>; p99: Record<Arm, number[]> }>, rounds: number, durationMs: number): ScenarioResult {
  const rows: (string | number)[][] = [];
  const targets: ScenarioResult['targets'] = [];
  for (const { variant, rounds: r, p99 } of Object.values(results)) {
    for (const arm of ARMS) {
      const m = (f: keyof RoundResult): number => median(r[arm].map((x) => x[f]));
      rows.push([
        variant.label, LABEL[arm], m('p50').toFixed(2), m('p99').toFixed(2), m('p999').toFixed(2), m('max').toFixed(2),
        `${m('offered')} / ${m('achieved').toFixed(1)}`, r[arm].reduce((s, x) => s + x.drops, 0),
        arm === 'herald' ? '—' : fmtRatio(ratio(p99.herald, p99[arm])),
      ]);
    }
    const vsUws = ratio(p99.herald, p99.uws);
    const vsNats = ratio(p99.herald, p99.nats);
    const control = ratio(p99.herald, p99['herald-control']);
    targets.push(ratioTarget(`${variant.label}: Herald p99 ≤ 1.5× uWS.js`, vsUws, 1.5, 'lower', control));
    targets.push(ratioTarget(`${variant.label}: Herald p99 ≤ 1.2× nats-server`, vsNats, 1.2, 'lower', control));
  }
  return {
    name: 'latency',
    title: 'Latency at fixed load (1,000 subscribers, 100 msg/s)',
    method:
      `An open-loop publisher process sends 64 B messages stamped with their intended send time for ${durationMs / 1000} s per round; ` +
      `1,000 subscribers (2 load processes) record publish-to-receive time in HdrHistograms, merged per round. ${rounds} interleaved rounds per arm; ` +
      'percentiles are medians over rounds, the ratio column is the median of per-round Herald ÷ peer p99 (Herald (control) is the A-vs-A row).',
    tables: [{
      caption: 'latency in ms (median over rounds)',
      columns: ['load', 'server', 'p50', 'p99', 'p99.9', 'max', 'offered / achieved msg/s', 'drops', 'Herald p99 ÷ this'],
      rows,
    }],
    targets,
    notes: [`A message not received within ${STRAGGLER_MS} ms after the round's last send is a drop and is counted at ${durationMs + STRAGGLER_MS} ms in that round's percentiles and max.`,
      'uWS.js and the ws peers speak the same minimal JSON `sub`/`pub`/`msg` as Herald; nats-server is driven with its own protocol over its WebSocket listener.'],
    raw: results,
  };
}
