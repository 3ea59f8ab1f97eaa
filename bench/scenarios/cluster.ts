/**
 * Cross-node scenario (issues 4, 7 and 11): a publisher on node A, 1,000 subscribers on node B, both
 * Herald nodes clustered through one nats-server (JetStream history in memory storage), against
 * the same load on a single node (also on the NATS adapter, so only the hop between nodes differs)
 * and a second single node as the A-vs-A control.
 *
 * - Saturation: a closed-loop publisher keeps a window of `pub` commands awaiting their reply, so
 *   every arm publishes as fast as it acknowledges; deliveries/s = messages delivered to the
 *   subscribers ÷ the time until the last acknowledged one was delivered everywhere (a node B that
 *   falls behind its publisher pays for its backlog).
 * - Latency at fixed load: open-loop publisher, HdrHistogram latency; the added p99 of the hop is
 *   judged against how far the two identical single nodes drift apart.
 */
import { CPU, Child, stopAll } from '../lib/children.js';
import { connectGroup, received, startClients, startServers, waitForReceived, type ServerHandle } from '../lib/fleet.js';
import { countLost, merge, summarize, type LatencySummary } from '../lib/histogram.js';
import { machineBusyMicros, procCpuMicros } from '../lib/proc-cpu.js';
import type { ScenarioResult } from '../lib/report.js';
import { differenceTarget, ratioTarget, type Target } from '../lib/verdict.js';
import { interleave, median, ratio, sleep, type RatioSummary } from '../lib/stats.js';
import { startNatsServer, type NatsServer } from '../peers/nats-server.js';
import type { ScenarioContext } from './types.js';

const ARMS = ['cross', 'single', 'single-control'] as const;
type Arm = (typeof ARMS)[number];
const LABEL: Record<Arm, string> = { cross: 'A → NATS → B', single: 'single node', 'single-control': 'single node (control)' };
const SUBSCRIBERS = 1000;
const TOPIC = 'bench.cluster';
/** `pub` commands awaiting their reply at saturation (Herald pipelines up to limits.pendingCommands, 256). */
const WINDOW = 64;
/** A message not received this long after its round counts as lost (recorded at the round's length). */
const GRACE_MS = 300;

interface LatencyVariant { key: string; label: string; rate: number; burst: number }
const LATENCY: LatencyVariant[] = [
  { key: 'steady', label: '100 msg/s', rate: 100, burst: 1 },
  { key: 'bursty', label: '320 msg/s in bursts of 16', rate: 20, burst: 16 },
];

interface SaturationVariant { key: string; label: string; subscribers: number; topic: string; tagSuffix: string }
/**
 * Two saturation points: 1,000 subscribers (deliveries bound: the fan-out and the load clients'
 * reading), and 20 subscribers on their own topic (message bound: store, hop and dispatch per
 * publication, where what the hop costs shows).
 */
const SATURATION: SaturationVariant[] = [
  { key: 'saturation', label: 'saturation, 1,000 subscribers', subscribers: SUBSCRIBERS, topic: TOPIC, tagSuffix: '' },
  { key: 'saturation-20', label: 'saturation, 20 subscribers', subscribers: 20, topic: `${TOPIC}.few`, tagSuffix: '.few' },
];

interface SaturationRound {
  /** Deliveries to the subscribers per second, until the last acknowledged publication was delivered (0: drops). */
  deliveriesPerSecond: number;
  /** Publications acknowledged per second while the publisher kept its window full. */
  ackedPerSecond: number;
  /** ms from the publisher's last reply to the last delivery: how far the subscribers' node fell behind. */
  backlogMs: number;
  drops: number;
  cpuNsPerDelivery: number;
  /** CPU time of the path's processes (server core) and of the load processes (load core) ÷ the round's wall time. */
  serverBusy: number;
  loadBusy: number;
  /** CPU time of every other process on the machine ÷ wall time (2 cores: up to 2). */
  othersBusy: number;
}

interface LatencyRound extends LatencySummary { drops: number; cpuNsPerDelivery: number; othersBusy: number }

interface Path { publishTo: ServerHandle; subscribeTo: ServerHandle; involved: number[] }

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const rounds = ctx.rounds ?? (ctx.quick ? 2 : 5);
  const durationMs = ctx.quick ? 1000 : 2000;
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
    const path: Record<Arm, Path> = {
      cross: { publishTo: servers.nodeA, subscribeTo: servers.nodeB, involved: [servers.nodeA.pid, servers.nodeB.pid, nats.pid] },
      single: { publishTo: servers.single, subscribeTo: servers.single, involved: [servers.single.pid, nats.pid] },
      'single-control': { publishTo: servers['single-control'], subscribeTo: servers['single-control'], involved: [servers['single-control'].pid, nats.pid] },
    };
    for (const arm of ARMS) await connectGroup(clients, { tag: arm, dialect: 'herald', port: path[arm].subscribeTo.port, total: SUBSCRIBERS, topic: TOPIC });
    ctx.log(`  ${SUBSCRIBERS} subscribers on node B and on each single node`);
    await sleep(500); // interest propagates between nodes
    const cpuOf = (arm: Arm): number => path[arm].involved.map(procCpuMicros).reduce((s, c) => s + c, 0);
    const loadCpu = (): number => [...clients, publisher!].map((c) => procCpuMicros(c.pid)).reduce((s, c) => s + c, 0);

    const saturation: Record<string, { variant: SaturationVariant; rounds: Record<Arm, SaturationRound[]> }> = {};
    for (const variant of SATURATION.filter((v) => !ctx.only || v.key.includes(ctx.only))) {
      const tag = (arm: Arm): string => `${arm}${variant.tagSuffix}`;
      if (variant.subscribers !== SUBSCRIBERS) {
        for (const arm of ARMS) await connectGroup(clients, { tag: tag(arm), dialect: 'herald', port: path[arm].subscribeTo.port, total: variant.subscribers, topic: variant.topic });
        await sleep(500);
      }
      const perArm = Object.fromEntries(ARMS.map((a) => [a, [] as SaturationRound[]])) as Record<Arm, SaturationRound[]>;
      await interleave(ARMS, rounds, async (arm) => {
        const before = await received(clients, tag(arm));
        const cpu0 = cpuOf(arm);
        const load0 = loadCpu();
        const machine0 = machineBusyMicros();
        const started = Date.now();
        const pub = await publisher!.call<{ acked: number; refused: number; issueMs: number; ms: number }>('saturate', {
          host: '127.0.0.1', port: path[arm].publishTo.port, topic: variant.topic, window: WINDOW, durationMs, payloadBytes: 64,
        });
        const replied = Date.now();
        const expected = pub.acked * variant.subscribers;
        const got = (await waitForReceived(clients, tag(arm), before + expected)) - before;
        const drained = Date.now();
        const cpu = cpuOf(arm) - cpu0;
        const load = loadCpu() - load0;
        const others = machineBusyMicros() - machine0 - cpu - load;
        const wallMicros = (drained - started) * 1000;
        const drops = Math.max(0, expected - got) + pub.refused * variant.subscribers;
        const r: SaturationRound = {
          deliveriesPerSecond: drops > 0 ? 0 : got / ((drained - started) / 1000),
          ackedPerSecond: pub.acked / (pub.issueMs / 1000),
          backlogMs: drained - replied,
          drops,
          cpuNsPerDelivery: got > 0 ? (cpu * 1000) / got : Infinity,
          serverBusy: cpu / wallMicros,
          loadBusy: load / wallMicros,
          othersBusy: Math.max(0, others) / wallMicros,
        };
        perArm[arm].push(r);
        return r.deliveriesPerSecond;
      });
      saturation[variant.key] = { variant, rounds: perArm };
      if (variant.subscribers !== SUBSCRIBERS) for (const c of clients) for (const arm of ARMS) await c.call('disconnect', { tag: tag(arm) });
      ctx.log(`  ${variant.label}: ${ARMS.map((a) => `${LABEL[a]} ${Math.round(median(perArm[a].map((r) => r.deliveriesPerSecond))).toLocaleString('en-US')} deliveries/s`).join(', ')}`);
    }

    const latency: Record<string, { variant: LatencyVariant; rounds: Record<Arm, LatencyRound[]>; p99: Record<Arm, number[]> }> = {};
    for (const variant of LATENCY.filter((v) => !ctx.only || v.key.includes(ctx.only))) {
      const perArm = Object.fromEntries(ARMS.map((a) => [a, [] as LatencyRound[]])) as Record<Arm, LatencyRound[]>;
      const p99 = await interleave(ARMS, rounds, async (arm) => {
        await Promise.all(clients.map((c) => c.call('latencyStart', { tag: arm })));
        const cpu0 = cpuOf(arm);
        const load0 = loadCpu();
        const machine0 = machineBusyMicros();
        const started = Date.now();
        const pub = await publisher!.call<{ sent: number }>('publish', {
          dialect: 'herald', host: '127.0.0.1', port: path[arm].publishTo.port, topic: TOPIC,
          rate: variant.rate, burst: variant.burst, durationMs, payloadBytes: 64,
        });
        await sleep(GRACE_MS);
        const cpu = cpuOf(arm) - cpu0;
        const others = machineBusyMicros() - machine0 - cpu - (loadCpu() - load0);
        const wallMicros = (Date.now() - started) * 1000;
        const h = merge(await Promise.all(clients.map((c) => c.call<string>('latencyTake', { tag: arm }))));
        const got = h.totalCount;
        const drops = Math.max(0, pub.sent * SUBSCRIBERS - got);
        const s = summarize(countLost(h, drops, durationMs + GRACE_MS));
        perArm[arm].push({ ...s, drops, cpuNsPerDelivery: got > 0 ? (cpu * 1000) / got : Infinity, othersBusy: Math.max(0, others) / wallMicros });
        return s.p99;
      });
      latency[variant.key] = { variant, rounds: perArm, p99 };
      ctx.log(`  ${variant.label}: p99 ${ARMS.map((a) => `${LABEL[a]} ${median(p99[a]).toFixed(2)} ms`).join(', ')}`);
    }
    return report(saturation, latency, rounds, durationMs);
  } finally {
    await stopAll([...Object.values(servers ?? {}).map((s) => (s as ServerHandle).child), ...clients, publisher]);
    await nats?.stop();
  }
}

const int = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : String(x));
const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** Which core limited the saturation rounds, from how busy each was (CPU time ÷ wall time). */
function bottleneck(singleServer: number, singleLoad: number, crossServer: number, crossLoad: number, others: number): string {
  const figures = `server core ${pct(singleServer)} / load core ${pct(singleLoad)} busy on one node, ${pct(crossServer)} / ${pct(crossLoad)} across nodes; other work ${pct(others)} of a core`;
  if (others >= 0.3) {
    return `Busy cores (${figures}): other processes on the machine took a large share of the two cores during these rounds, so the rates measure that contention as much as the paths.`;
  }
  if (singleLoad >= 0.85 && singleLoad > singleServer) {
    return `Busy cores (${figures}): the load processes (on their own core), not the servers, were the limit: this point cannot tell the paths apart beyond that ceiling.`;
  }
  if (singleServer >= 0.85 || crossServer >= 0.85) return `Busy cores (${figures}): the server core was the limit, as intended for a saturation figure.`;
  return `Busy cores (${figures}): neither core was saturated: the rate was limited by round trips (the publisher's window of ${WINDOW}), not by CPU.`;
}

const times = (r: RatioSummary): string => `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;

function report(
  saturation: Record<string, { variant: SaturationVariant; rounds: Record<Arm, SaturationRound[]> }>,
  latency: Record<string, { variant: LatencyVariant; rounds: Record<Arm, LatencyRound[]>; p99: Record<Arm, number[]> }>,
  rounds: number, durationMs: number,
): ScenarioResult {
  const targets: Target[] = [];
  const notes: string[] = [];
  const tables: ScenarioResult['tables'] = [];

  for (const { variant, rounds: r } of Object.values(saturation)) {
    const m = (arm: Arm, f: keyof SaturationRound): number => median(r[arm].map((x) => x[f]));
    const rate = (arm: Arm): number[] => r[arm].map((x) => x.deliveriesPerSecond);
    tables.push({
      caption: `${variant.label}: ${WINDOW} publications awaiting their reply, ${durationMs / 1000} s per round (medians over rounds)`,
      columns: ['path', 'deliveries/s', 'acknowledged msg/s', 'backlog after the last reply, ms', 'CPU ns/delivery (path)', 'server core busy', 'load core busy', 'other work (of 1 core)', 'drops'],
      rows: ARMS.map((arm) => [LABEL[arm], int(m(arm, 'deliveriesPerSecond')), int(m(arm, 'ackedPerSecond')), int(m(arm, 'backlogMs')),
        int(m(arm, 'cpuNsPerDelivery')), pct(m(arm, 'serverBusy')), pct(m(arm, 'loadBusy')), pct(m(arm, 'othersBusy')), r[arm].reduce((s, x) => s + x.drops, 0)]),
    });
    const thr = ratio(rate('cross'), rate('single'));
    const control = ratio(rate('single-control'), rate('single'));
    const target = ratioTarget(`${variant.label}: cross-node deliveries/s ≥ 0.8× single node`, thr, 0.8, 'higher', control);
    targets.push(target);
    const cpu = ratio(r.cross.map((x) => x.cpuNsPerDelivery), r.single.map((x) => x.cpuNsPerDelivery));
    const owed = m('cross', 'ackedPerSecond') * variant.subscribers;
    notes.push(
      `${variant.label}: across nodes the subscribers got ${int(m('cross', 'deliveriesPerSecond'))} deliveries/s against ${int(m('single', 'deliveriesPerSecond'))} on a single node ` +
      `(${times(thr)} per round, A-vs-A ${times(control)}): ${target.verdict === 'tie' ? 'within the noise of the 0.8× bound' : target.verdict === 'met' ? 'above the 0.8× bound beyond the noise' : 'below the 0.8× bound beyond the noise'}. ` +
      `Node A acknowledged ${int(m('cross', 'ackedPerSecond'))} msg/s (${int(owed)} deliveries/s owed to B), the single node ${int(m('single', 'ackedPerSecond'))} msg/s; ` +
      (m('cross', 'backlogMs') > 2 * m('single', 'backlogMs') + 50
        ? `node B fell behind its publisher and finished ${int(m('cross', 'backlogMs'))} ms after the last reply (single node: ${int(m('single', 'backlogMs'))} ms), so the cross-node rate is B's, not A's. `
        : `node B kept up with its publisher (done ${int(m('cross', 'backlogMs'))} ms after the last reply; single node ${int(m('single', 'backlogMs'))} ms). `) +
      `CPU per delivery summed over every process on the path: ${int(m('cross', 'cpuNsPerDelivery'))} ns across nodes, ${int(m('single', 'cpuNsPerDelivery'))} ns on one node (${times(cpu)}). ` +
      bottleneck(m('single', 'serverBusy'), m('single', 'loadBusy'), m('cross', 'serverBusy'), m('cross', 'loadBusy'), Math.max(...ARMS.map((a) => m(a, 'othersBusy')))),
    );
  }

  const rows: (string | number)[][] = [];
  for (const { variant, rounds: r, p99 } of Object.values(latency)) {
    for (const arm of ARMS) {
      const m = (f: keyof LatencyRound): number => median(r[arm].map((x) => x[f]));
      rows.push([variant.label, LABEL[arm], m('p50').toFixed(2), m('p99').toFixed(2), m('max').toFixed(2), int(m('cpuNsPerDelivery')), pct(m('othersBusy')), r[arm].reduce((s, x) => s + x.drops, 0)]);
    }
    const added = p99.cross.map((x, i) => x - p99.single[i]!);
    const control = p99['single-control'].map((x, i) => x - p99.single[i]!);
    const target = differenceTarget(`${variant.label}: added p99 (cross − single) < 2 ms`, added, 2, 'lower', control, 'ms');
    targets.push(target);
    const spread = Math.max(...control.filter(Number.isFinite).map(Math.abs));
    notes.push(`${variant.label}: the hop adds ${median(added).toFixed(2)} ms to p99 (median of per-round differences), ` +
      `while the two identical single nodes differ by up to ${spread.toFixed(2)} ms: ` +
      (Math.abs(median(added)) <= spread ? 'the added latency is inside the A-vs-A spread (not resolved at this noise).' : `the added latency is ${median(added) > 0 ? 'above' : 'below'} the A-vs-A spread.`) +
      ` Other processes on the machine took ${pct(Math.max(...ARMS.map((a) => median(r[a].map((x) => x.othersBusy)))))} of a core meanwhile (median round, busiest arm).`);
  }
  if (rows.length > 0) {
    tables.push({
      caption: `latency at fixed load, ${durationMs / 1000} s per round (medians over rounds; a message missing ${GRACE_MS} ms after its round counts at the round's length)`,
      columns: ['load', 'path', 'p50 ms', 'p99 ms', 'max ms', 'CPU ns/delivery (path)', 'other work (of 1 core)', 'drops'],
      rows,
    });
  }
  return {
    name: 'cluster',
    title: 'Cross-node via NATS (publisher on A, 1,000 subscribers on B)',
    method:
      `${rounds} interleaved rounds per row. Saturation: a closed-loop publisher keeps ${WINDOW} \`pub\` commands (64 B) awaiting their reply for ${durationMs / 1000} s ` +
      '(the per-connection command rate limit raised for it, on every node alike), to 1,000 subscribers or to 20 on their own topic; ' +
      'deliveries/s = messages delivered to the subscribers ÷ the time from the first publish until every acknowledged one was delivered to all of them (a round with a missing delivery counts as 0). ' +
      `Latency: open-loop publisher (64 B, stamped with intended send time) for ${durationMs / 1000} s. ` +
      'Both nodes and the single nodes run the NATS adapter against one nats-server (JetStream, memory storage), all pinned to the server CPU. ' +
      'CPU ns/delivery sums every process on the path (nodes from procfs, nats-server included); other work = CPU time of every other process on the machine (/proc/stat minus the path and the load processes) ÷ the round\'s wall time.',
    tables,
    targets,
    notes,
    raw: { saturation, latency },
  };
}
