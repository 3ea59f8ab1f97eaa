/**
 * Scenario 3 (issues 3 and 7): socket.io fan-out, 1 topic × 1,000 socket.io clients (engine.io over
 * WebSocket), Herald's socket.io transport vs a stock socket.io server doing `nsp.to(room).emit`.
 * Deliveries per server CPU-second at bursts of 16 (and 1), and server RSS per connection.
 */
import { stopAll, type Child } from '../lib/children.js';
import { fanoutRound, type FanoutSample } from '../lib/fanout-round.js';
import { connectGroup, startClients, startServers, type ServerHandle } from '../lib/fleet.js';
import type { ScenarioResult } from '../lib/report.js';
import { ratioTarget } from '../lib/verdict.js';
import { fmtRatio, interleave, median, ratio, sleep } from '../lib/stats.js';
import type { ScenarioContext } from './types.js';

const ARMS = ['herald', 'herald-control', 'stock'] as const;
type Arm = (typeof ARMS)[number];
const PEERS: Record<Arm, { peer: string }> = { herald: { peer: 'herald-socketio' }, 'herald-control': { peer: 'herald-socketio' }, stock: { peer: 'socketio-stock' } };
const LABEL: Record<Arm, string> = { herald: 'Herald socket.io', 'herald-control': 'Herald (control)', stock: 'stock socket.io' };
const SUBSCRIBERS = 1000;
const TOPIC = 'bench.sio';
/** Measured RSS rounds per arm (after one discarded warm-up round), each adding RSS_CLIENTS idle clients. */
const RSS_ROUNDS = 2;
/** Enough that RSS growth (page-granular, allocator reuse) stands above its noise; 3 arms × 3 rounds stay under one load process's socket limit. */
const RSS_CLIENTS = 3000;

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
    // RSS per connection: each round adds RSS_CLIENTS more idle clients (on another topic, so the fan-out
    // below is unchanged) and measures the growth after a forced GC; interleaved rounds, the first
    // warms each server up and is discarded. Disconnecting between rounds would let freed memory
    // hide the next round's growth.
    const rssRounds = await interleave(ARMS, RSS_ROUNDS + 1, async (arm, r) => {
      await sleep(200);
      const before = await servers![arm].child.call<{ rss: number }>('memory');
      await connectGroup(clients, { tag: `${arm}-rss-${r}`, dialect: 'socketio', port: servers![arm].port, total: RSS_CLIENTS, topic: `${TOPIC}.idle` });
      await sleep(300);
      const after = await servers![arm].child.call<{ rss: number }>('memory');
      return (after.rss - before.rss) / RSS_CLIENTS;
    });
    const rssPer = Object.fromEntries(ARMS.map((a) => [a, rssRounds[a].slice(1)])) as Record<Arm, number[]>;
    const rss: Record<string, number> = Object.fromEntries(ARMS.map((a) => [a, median(rssPer[a])]));
    ctx.log(`  RSS per socket.io connection: ${ARMS.map((a) => `${LABEL[a]} ${Math.round(rss[a]!)} B`).join(', ')}`);
    for (const arm of ARMS) await connectGroup(clients, { tag: arm, dialect: 'socketio', port: servers[arm].port, total: SUBSCRIBERS, topic: TOPIC });
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
    const rows = Object.entries(out).map(([key, { cost, samples }]) => {
      const thr = ratio(cost.stock, cost.herald);
      const drops = ARMS.map((a) => samples[a].reduce((s, x) => s + x.expected - x.delivered, 0)).join('/');
      return [key, ...ARMS.map((a) => Math.round(1e9 / median(cost[a])).toLocaleString('en-US')), fmtRatio(thr), fmtRatio(ratio(cost['herald-control'], cost.herald)), drops];
    });
    const b16 = out['64B-burst16'];
    const thr16 = b16 ? ratio(b16.cost.stock, b16.cost.herald) : undefined;
    const rssRatio = ratio(rssPer.herald, rssPer.stock);
    return {
      name: 'socketio',
      title: 'socket.io fan-out (1 topic × 1,000 clients)',
      method:
        `Deliveries per server CPU-second (server-side publish in bursts, as in the WS fan-out), ${rounds} interleaved rounds; ` +
        'clients are raw engine.io-over-WebSocket sockets speaking socket.io v5 (namespace /herald, `subscribe` with ack, `message` events). ' +
        `RSS per connection: server RSS growth (after GC) while ${RSS_CLIENTS.toLocaleString('en-US')} more idle clients connect and subscribe; ${RSS_ROUNDS} interleaved rounds after a discarded warm-up round, medians.`,
      tables: [{
        caption: 'deliveries per server CPU-second (median) and Herald ÷ stock',
        columns: ['variant', ...ARMS.map((a) => LABEL[a]), 'Herald ÷ stock', 'A-vs-A', `drops (${ARMS.join('/')})`],
        rows,
      }, {
        caption: 'server RSS per connection',
        columns: ['', ...ARMS.map((a) => LABEL[a]), 'Herald ÷ stock'],
        rows: [['B/conn', ...ARMS.map((a) => Math.round(rss[a]!)), fmtRatio(rssRatio)]],
      }],
      targets: [
        ...(b16 && thr16 ? [ratioTarget('burst 16: deliveries per CPU-second ≥ 3× stock socket.io', thr16, 3, 'higher', ratio(b16.cost['herald-control'], b16.cost.herald))] : []),
        ratioTarget('RSS per connection ≤ 1.0× stock socket.io', rssRatio, 1, 'lower', ratio(rssPer.herald, rssPer['herald-control'])),
      ],
      notes: [],
      raw: { rss: rssPer, out },
    };
  } finally {
    await stopAll([...Object.values(servers ?? {}).map((s) => (s as ServerHandle).child), ...clients]);
  }
}
