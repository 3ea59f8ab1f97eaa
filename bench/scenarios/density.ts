/**
 * Scenario 6 (issue 7): connection density. ≥ 50,000 idle subscribed WebSocket connections against
 * Herald and against a bare `ws` server. One process can hold ~19,900 sockets here (open-file limit
 * 20,000, not raisable), so each arm runs as 3 server processes behind 3 load processes (16,700
 * connections each), spread over 127.0.0.x source addresses. Reports RSS per connection (after a
 * forced GC), connect rate and idle CPU, interleaving the arms round by round: a first warm-up round
 * per arm is discarded (page cache, JIT, the kernel's socket tables), the rest give medians and the
 * per-round ratios. In the idle window every connection gets the same pings (one per second), so the
 * servers do equal work: answering pongs, whatever their own keep-alive timers are.
 */
import { stopAll, type Child } from '../lib/children.js';
import { connectGroup, startClients, startServers, type ServerHandle } from '../lib/fleet.js';
import type { ScenarioResult } from '../lib/report.js';
import { ratioTarget } from '../lib/verdict.js';
import { fmtRatio, interleave, median, ratio, round, sleep } from '../lib/stats.js';
import type { ScenarioContext } from './types.js';

const ARMS = ['herald', 'herald-control', 'ws'] as const;
type Arm = (typeof ARMS)[number];
const PEER: Record<Arm, string> = { herald: 'herald-ws', 'herald-control': 'herald-ws', ws: 'naive-ws' };
const LABEL: Record<Arm, string> = { herald: 'Herald', 'herald-control': 'Herald (control)', ws: 'bare ws' };
const PROCESSES = 3;
const IDLE_MS = 5000;
const PING_EVERY_MS = 1000;

interface Sample { connections: number; rssPerConnection: number; heapPerConnection: number; connectsPerSecond: number; idleCpuPercent: number }

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const perProcess = ctx.quick ? 3000 : 16_700;
  const rounds = ctx.rounds ?? 2;
  const samples = Object.fromEntries(ARMS.map((a) => [a, [] as Sample[]])) as Record<Arm, Sample[]>;
  const measure = async (arm: Arm, roundIndex: number): Promise<number> => {
    let servers: Record<string, ServerHandle> | undefined;
    let clients: Child[] = [];
    try {
      servers = await startServers(Object.fromEntries(Array.from({ length: PROCESSES }, (_, i) => [`${arm}-${i}`, { peer: PEER[arm] }])));
      const list = Object.values(servers);
      clients = startClients(PROCESSES);
      const mem = async (): Promise<{ rss: number; heapUsed: number }[]> => Promise.all(list.map((s) => s.child.call<{ rss: number; heapUsed: number }>('memory')));
      await sleep(300);
      const before = await mem();
      const t0 = Date.now();
      // Server k gets its connections from load process k (each under the per-process socket limit).
      await Promise.all(list.map((s, k) => connectGroup([clients[k]!], { tag: 'idle', dialect: 'herald', port: s.port, total: perProcess, topic: 'bench.idle', concurrency: 200 })));
      const connectSeconds = (Date.now() - t0) / 1000;
      await sleep(500);
      const cpu0 = await Promise.all(list.map((s) => s.child.call<number>('cpu')));
      let pings = 0;
      for (let t = 0; t < IDLE_MS; t += PING_EVERY_MS) {
        const tick = sleep(PING_EVERY_MS);
        pings += (await Promise.all(clients.map((c) => c.call<number>('ping', { tag: 'idle' })))).reduce((a, b) => a + b, 0);
        await tick;
      }
      const cpu1 = await Promise.all(list.map((s) => s.child.call<number>('cpu')));
      const after = await mem();
      const total = perProcess * PROCESSES;
      const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
      const s: Sample = {
        connections: total,
        rssPerConnection: sum(after.map((m, i) => m.rss - before[i]!.rss)) / total,
        heapPerConnection: sum(after.map((m, i) => m.heapUsed - before[i]!.heapUsed)) / total,
        connectsPerSecond: total / connectSeconds,
        idleCpuPercent: (sum(cpu1.map((c, i) => c - cpu0[i]!)) / (IDLE_MS * 1000)) * 100,
      };
      if (roundIndex > 0) samples[arm].push(s);
      ctx.log(`  ${LABEL[arm]}${roundIndex === 0 ? ' (warm-up, discarded)' : ''}: ${total} connections, ${Math.round(s.rssPerConnection)} B RSS each, ${Math.round(s.connectsPerSecond)} connects/s, idle CPU ${s.idleCpuPercent.toFixed(2)}% with ${pings} pings answered`);
      return s.rssPerConnection;
    } finally {
      await stopAll([...clients, ...Object.values(servers ?? {}).map((s) => s.child)]);
    }
  };
  const measured = await interleave(ARMS, rounds + 1, measure);
  const rss = Object.fromEntries(ARMS.map((a) => [a, measured[a].slice(1)])) as Record<Arm, number[]>;
  const vsWs = ratio(rss.herald, rss.ws);
  const m = (a: Arm, f: keyof Sample): number => median(samples[a].map((x) => x[f]));
  return {
    name: 'density',
    title: `Density (${(perProcess * PROCESSES).toLocaleString('en-US')} idle connections)`,
    method:
      `${PROCESSES} server processes × ${perProcess.toLocaleString('en-US')} subscribed idle WebSocket connections per arm (one process holds < 20,000 sockets here), ` +
      `${PROCESSES} load processes; RSS and heap growth after a forced GC, connect rate for all of them (200 handshakes in flight per load process), ` +
      `server CPU over ${IDLE_MS / 1000} s idle while every connection gets a WebSocket ping each second. ` +
      `${rounds} interleaved rounds after a discarded warm-up round; medians, and per-round ratios.`,
    tables: [{
      caption: 'per connection, medians over rounds',
      columns: ['server', 'RSS B/conn', 'heap B/conn', 'connects/s', 'idle CPU % (all processes)', 'RSS ÷ bare ws'],
      rows: ARMS.map((a) => [LABEL[a], Math.round(m(a, 'rssPerConnection')), Math.round(m(a, 'heapPerConnection')), Math.round(m(a, 'connectsPerSecond')), round(m(a, 'idleCpuPercent'), 2),
        a === 'ws' ? '—' : fmtRatio(ratio(rss[a], rss.ws))]),
    }],
    targets: [ratioTarget('RSS per connection ≤ 1.2× bare ws', vsWs, 1.2, 'lower', ratio(rss.herald, rss['herald-control']))],
    notes: [`A-vs-A (Herald ÷ Herald control RSS/conn): ${fmtRatio(ratio(rss.herald, rss['herald-control']))}.`],
    raw: samples,
  };
}
