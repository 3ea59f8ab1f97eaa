/**
 * The processes of a scenario: servers under test (pinned to the server CPU) and load-client
 * processes (pinned to the load CPU), plus helpers to open subscriber groups across them and to
 * wait for deliveries.
 */
import { fileURLToPath } from 'node:url';
import { Child, CPU } from './children.js';
import type { DialectName } from './dialects.js';
import { sleep } from './stats.js';

export const PROFILE_DIR = fileURLToPath(new URL('../results/profiles/', import.meta.url));

export interface ServerHandle {
  child: Child;
  port: number;
  pid: number;
}

/** Starts one server child per arm, in parallel. */
export async function startServers<K extends string>(specs: Record<K, { peer: string; options?: object }>, profile?: string): Promise<Record<K, ServerHandle>> {
  const entries = await Promise.all(Object.entries(specs).map(async ([arm, spec]) => {
    const { peer, options } = spec as { peer: string; options?: object };
    // --profile <arm>: a V8 CPU profile of that server, written when it exits (open in Chrome DevTools).
    const nodeArgs = ['--expose-gc', ...(profile === arm ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [])];
    const child = new Child(`server:${arm}`, 'lib/server-child.ts', [peer, JSON.stringify(options ?? {})], { cpu: CPU.server, nodeArgs });
    const { port, pid } = await child.call<{ port: number; pid: number }>('start');
    return [arm, { child, port, pid }] as const;
  }));
  return Object.fromEntries(entries) as Record<K, ServerHandle>;
}

export function startClients(count: number): Child[] {
  return Array.from({ length: count }, (_, i) => new Child(`load:${i}`, 'lib/load-client.ts', [], { cpu: CPU.clients }));
}

/** Source addresses per load process: 127.0.0.(10 + 40k) … (49 + 40k). */
const SOURCES_PER_PROCESS = 40;

/** Opens `total` subscribers of `topic` on `port`, split evenly over the load processes. */
export async function connectGroup(clients: Child[], p: { tag: string; dialect: DialectName | 'sse'; port: number; total: number; topic: string; concurrency?: number }): Promise<{ ms: number }> {
  const started = Date.now();
  await Promise.all(clients.map((c, k) => {
    const count = Math.floor(p.total / clients.length) + (k < p.total % clients.length ? 1 : 0);
    return c.call('connect', {
      tag: p.tag, dialect: p.dialect, host: '127.0.0.1', port: p.port, count, topic: p.topic,
      sourceFirst: 10 + k * SOURCES_PER_PROCESS, sourceCount: SOURCES_PER_PROCESS, concurrency: p.concurrency,
    }, 600_000);
  }));
  return { ms: Date.now() - started };
}

export async function received(clients: Child[], tag: string): Promise<number> {
  const counts = await Promise.all(clients.map((c) => c.call<Record<string, number>>('counts', { tags: [tag] })));
  return counts.reduce((sum, c) => sum + (c[tag] ?? 0), 0);
}

/** Waits until the group has received `target` messages or stops making progress; returns the count. */
export async function waitForReceived(clients: Child[], tag: string, target: number, stallMs = 2000): Promise<number> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const n = await received(clients, tag);
    if (n >= target) return n;
    if (n !== last) { last = n; lastChange = Date.now(); }
    else if (Date.now() - lastChange > stallMs) return n;
    await sleep(10);
  }
}
