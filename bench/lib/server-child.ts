/**
 * Server child: runs one peer (bench/peers/<name>.ts) and, on request, drives bursts of
 * publications from inside the process (the app-side publish path), reporting its own CPU time.
 * Usage (by children.ts): server-child.ts <peer> [json options]
 */
import { cpuMicros, serve } from './child-runtime.js';
import type { PeerServer, PeerFactory } from '../peers/types.js';

const [peerName, optionsJson] = process.argv.slice(2);
if (!peerName || !/^[a-z0-9-]+$/.test(peerName)) throw new Error(`bad peer name ${peerName}`);
const options = { host: '127.0.0.1', ...(optionsJson ? JSON.parse(optionsJson) as object : {}) };
let server: PeerServer | undefined;

export interface BurstParams {
  topic: string;
  bursts: number;
  burstSize: number;
  /** Idle milliseconds between bursts (so every burst is its own event-loop turn and gets flushed). */
  gapMs: number;
  payloadBytes: number;
}

export interface BurstResult {
  cpuMicros: number;
  /** Kernel share of cpuMicros (socket writes on loopback also run the receiver's TCP path). */
  systemMicros: number;
  published: number;
  wallMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function burst(p: BurstParams): Promise<BurstResult> {
  const data = 'x'.repeat(p.payloadBytes);
  const t0 = performance.now();
  const c0 = cpuMicros();
  const s0 = process.cpuUsage().system;
  for (let b = 0; b < p.bursts; b++) {
    for (let i = 0; i < p.burstSize; i++) server!.publish(p.topic, data);
    await sleep(p.gapMs);
  }
  // Let the last turn's writes leave the process before reading the clock.
  await sleep(20);
  return { cpuMicros: cpuMicros() - c0, systemMicros: process.cpuUsage().system - s0, published: p.bursts * p.burstSize, wallMs: performance.now() - t0 };
}

serve({
  start: async () => {
    const mod = (await import(`../peers/${peerName}.ts`)) as { start: PeerFactory };
    server = await mod.start(options);
    return { port: server.port, pid: process.pid };
  },
  burst,
  cpu: () => cpuMicros(),
  memory: () => {
    global.gc?.();
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed };
  },
}, async () => { await server?.close(); });
