/**
 * Scenario `history` (issue 17): publications per second with history kept, acknowledged to the
 * publisher, the standalone binary on disk (default durability `commit`, and `flush`) vs the binary in
 * memory vs nats-server's JetStream file store; and the time to recover 10,000 publications.
 * Every server is its own process on the server core; the publisher (one WebSocket client, or one
 * NATS client publishing with acks) runs in this process on the client core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, DeliverPolicy, RetentionPolicy, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import WebSocket from 'ws';
import { CPU, hasTaskset } from '../lib/children.js';
import { PROFILE_DIR } from '../lib/fleet.js';
import type { ScenarioResult } from '../lib/report.js';
import { fmtRatio, interleave, median, ratio, type RatioSummary } from '../lib/stats.js';
import { ratioTarget } from '../lib/verdict.js';
import { freePort, startNatsServer, type NatsServer } from '../peers/nats-server.js';
import type { ScenarioContext } from './types.js';

const ARMS = ['durable', 'durable-control', 'flush', 'memory', 'jetstream'] as const;
type Arm = (typeof ARMS)[number];
type HeraldArm = Exclude<Arm, 'jetstream'>;
const LABEL: Record<Arm, string> = {
  durable: 'Herald on disk (commit)', 'durable-control': 'Herald on disk (control)', flush: 'Herald on disk (flush)', memory: 'Herald in memory', jetstream: 'JetStream file store',
};
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PAYLOAD = 'x'.repeat(64);
const BURST = 16;
const RECOVER = 10_000;

/** The standalone binary, listening on a free port; resolves once it said so. */
async function startHerald(arm: HeraldArm, dir: string, profile?: string): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  // --profile <arm>: a V8 CPU profile of that binary, written when it exits (open in Chrome DevTools).
  const args = [...(profile === arm ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []), '--import', path.join(REPO, 'node_modules/tsx/dist/loader.mjs'), path.join(REPO, 'bin/herald.ts'), '--port', String(port), '--no-dashboard', '--no-metrics', '--log-level', 'warn',
    ...(arm === 'memory' ? ['--in-memory'] : ['--data-dir', path.join(dir, arm)])];
  const env = { ...process.env, HERALD_HISTORY_SIZE: String(RECOVER * 2), HERALD_HISTORY_TTL: String(3_600_000), HERALD_HISTORY_DURABILITY: arm === 'flush' ? 'flush' : 'commit', HERALD_LIMITS_MESSAGE_RATE: '1000000', HERALD_LIMITS_MESSAGE_BURST: '1000000', HERALD_LIMITS_OUTBOUND_BYTES: String(64 * 1024 * 1024) };
  const [cmd, argv] = hasTaskset ? ['taskset', ['-c', CPU.server, process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      ws.once('open', () => { ws.close(); resolve(true); });
      ws.once('error', () => resolve(false));
    });
    if (up) return { child, port };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`herald (${arm}) did not start`);
}

/** One protocol-v1 WebSocket client: pipelined commands, replies by id. */
class Publisher {
  private nextId = 1;
  private readonly pending = new Map<number, (m: Record<string, unknown>) => void>();
  onMessage: ((m: Record<string, unknown>) => void) | undefined;
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
      if (typeof m.id === 'number') { this.pending.get(m.id)?.(m); this.pending.delete(m.id); } else this.onMessage?.(m);
    });
  }
  static async open(port: number): Promise<Publisher> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    return new Publisher(ws);
  }
  request(op: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => { this.pending.set(id, resolve); this.ws.send(JSON.stringify({ op, id, ...fields })); });
  }
  close(): void { this.ws.close(); }
}

interface Peer {
  /** Publishes `bursts` bursts of BURST, each acknowledged before the next; publications per second. */
  rate(topic: string, bursts: number): Promise<number>;
  /** Publishes RECOVER to a fresh topic, then times a reader getting all of them from the start (ms). */
  recovery(topic: string): Promise<number>;
  stop(): Promise<void>;
}

async function heraldPeer(arm: HeraldArm, dir: string, profile?: string): Promise<Peer> {
  const { child, port } = await startHerald(arm, dir, profile);
  const pub = await Publisher.open(port);
  const burst = async (topic: string): Promise<Record<string, unknown>[]> => {
    const acks = await Promise.all(Array.from({ length: BURST }, () => pub.request('pub', { topic, data: PAYLOAD })));
    if (acks.some((a) => a.ok !== true)) throw new Error(`publish refused: ${JSON.stringify(acks.find((a) => a.ok !== true))}`);
    return acks;
  };
  return {
    async rate(topic, bursts) {
      const t0 = performance.now();
      for (let i = 0; i < bursts; i++) await burst(topic);
      return (bursts * BURST) / ((performance.now() - t0) / 1000);
    },
    async recovery(topic) {
      let epoch = '';
      for (let i = 0; i < RECOVER / BURST; i++) epoch = (await burst(topic))[0]!.epoch as string;
      const reader = await Publisher.open(port);
      let got = 0;
      const t0 = performance.now();
      const all = new Promise<void>((resolve) => { reader.onMessage = (m) => { if (m.op === 'msg' && ++got === RECOVER) resolve(); }; });
      const ack = await reader.request('sub', { topic, since: { offset: 0, epoch } });
      if (ack.recovered !== true) throw new Error(`recovery incomplete: ${JSON.stringify(ack)}`);
      await all;
      const ms = performance.now() - t0;
      reader.close();
      return ms;
    },
    async stop() {
      pub.close();
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function jetstreamPeer(): Promise<Peer & { server: NatsServer }> {
  const server = await startNatsServer(CPU.server, { jetstream: true });
  const nc: NatsConnection = await connect({ servers: `127.0.0.1:${server.port}` });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'HISTORY', subjects: ['h.>'], storage: StorageType.File, retention: RetentionPolicy.Limits, max_msgs_per_subject: RECOVER * 2 });
  const js: JetStreamClient = jetstream(nc);
  const data = new TextEncoder().encode(JSON.stringify(PAYLOAD));
  const burst = (subject: string) => Promise.all(Array.from({ length: BURST }, () => js.publish(subject, data)));
  return {
    server,
    async rate(topic, bursts) {
      const t0 = performance.now();
      for (let i = 0; i < bursts; i++) await burst(`h.${topic}`);
      return (bursts * BURST) / ((performance.now() - t0) / 1000);
    },
    async recovery(topic) {
      for (let i = 0; i < RECOVER / BURST; i++) await burst(`h.${topic}`);
      const t0 = performance.now();
      // What a returning client does: an ordered consumer from the first message of its subject.
      const consumer = await js.consumers.get('HISTORY', { filter_subjects: `h.${topic}`, deliver_policy: DeliverPolicy.All });
      const messages = await consumer.consume();
      let got = 0;
      for await (const m of messages) {
        JSON.parse(new TextDecoder().decode(m.data));
        if (++got === RECOVER) break;
      }
      return performance.now() - t0;
    },
    async stop() {
      await nc.close();
      await server.stop();
    },
  };
}

export async function run(ctx: ScenarioContext): Promise<ScenarioResult> {
  const rounds = ctx.rounds ?? (ctx.quick ? 3 : 7);
  const bursts = ctx.quick ? 100 : 300;
  const recoveryRounds = ctx.quick ? 2 : 3;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-history-'));
  const peers: Partial<Record<Arm, Peer>> = {};
  try {
    for (const arm of ARMS) peers[arm] = arm === 'jetstream' ? await jetstreamPeer() : await heraldPeer(arm, dir, ctx.profile);
    // Warm-up: JIT, file growth, stream creation.
    for (const arm of ARMS) await peers[arm]!.rate('warm', 50);
    const rate = await interleave(ARMS, rounds, (arm, r) => peers[arm]!.rate(`rate.${r}`, bursts));
    ctx.log(`  burst ${BURST}: ${ARMS.map((a) => `${LABEL[a]} ${Math.round(median(rate[a]))}/s`).join(', ')}`);
    const recovery = await interleave(ARMS, recoveryRounds, (arm, r) => peers[arm]!.recovery(`recover.${r}`));
    ctx.log(`  recovery of ${RECOVER}: ${ARMS.map((a) => `${LABEL[a]} ${Math.round(median(recovery[a]))} ms`).join(', ')}`);

    const control: RatioSummary = ratio(rate.durable, rate['durable-control']);
    const vsMemory = ratio(rate.durable, rate.memory);
    const flushVsMemory = ratio(rate.flush, rate.memory);
    const vsJetstream = ratio(rate.durable, rate.jetstream);
    const recoveryControl = ratio(recovery.durable, recovery['durable-control']);
    const recoveryVsJs = ratio(recovery.durable, recovery.jetstream);
    const int = (x: number): string => Math.round(x).toLocaleString('en-US');
    return {
      name: 'history',
      title: 'History kept: on disk vs in memory vs JetStream file store',
      method:
        `Publications per second acknowledged to one publisher sending bursts of ${BURST} (64-byte payload; each burst's acks awaited before the next), ` +
        `${bursts} bursts per round on a fresh topic, ${rounds} interleaved rounds after a warm-up. Herald: the standalone binary (its own process, server core), ` +
        'history on disk (durability commit; a second identical arm is the A-vs-A control; and flush) or in memory; the publisher is a protocol-v1 WebSocket client. ' +
        'JetStream: nats-server -js, a file-store stream, the publisher a NATS client awaiting each publish ack. ' +
        `Recovery: ${RECOVER.toLocaleString('en-US')} publications on a fresh topic, then the time until a new reader got all of them from the start ` +
        `(Herald: \`sub\` with \`since\`; JetStream: a consumer from the first message of the subject), ${recoveryRounds} interleaved rounds.`,
      tables: [{
        caption: `acknowledged publications per second, bursts of ${BURST} (median)`,
        columns: ARMS.map((a) => LABEL[a]),
        rows: [ARMS.map((a) => int(median(rate[a])))],
      }, {
        caption: 'ratios, per round',
        columns: ['', 'median (min–max)'],
        rows: [
          ['on disk ÷ in memory', fmtRatio(vsMemory)],
          ['on disk (flush) ÷ in memory', fmtRatio(flushVsMemory)],
          ['on disk ÷ JetStream file store', fmtRatio(vsJetstream)],
          ['A-vs-A (on disk ÷ on disk)', fmtRatio(control)],
        ],
      }, {
        caption: `recovery of ${RECOVER.toLocaleString('en-US')} publications, ms (median)`,
        columns: ARMS.map((a) => LABEL[a]),
        rows: [ARMS.map((a) => int(median(recovery[a])))],
      }],
      targets: [
        ratioTarget(`burst ${BURST}: on disk ≥ 0.8× in memory`, vsMemory, 0.8, 'higher', control),
        ratioTarget(`burst ${BURST}: on disk ahead of JetStream's file store (≥ 1×)`, vsJetstream, 1, 'higher', control),
        ratioTarget(`recovery of ${RECOVER.toLocaleString('en-US')}: on disk ≤ 1× JetStream's time`, recoveryVsJs, 1, 'lower', recoveryControl),
      ],
      notes: [],
      raw: { rate, recovery },
    };
  } finally {
    for (const p of Object.values(peers)) await p?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
