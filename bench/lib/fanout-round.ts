/**
 * One measured fan-out round: the server child publishes bursts from inside its process, the load
 * processes count deliveries, and the cost is server CPU time per message actually delivered. A
 * round in which any subscriber missed a message failed: its cost is Infinity, so it counts against
 * the arm (bench/lib/verdict.ts) instead of looking cheaper for the work it did not do.
 */
import type { Child } from './children.js';
import { received, waitForReceived } from './fleet.js';
import type { BurstParams, BurstResult } from './server-child.js';

export interface FanoutSample {
  nsPerDelivery: number;
  /** Kernel part of nsPerDelivery. */
  systemNsPerDelivery: number;
  delivered: number;
  expected: number;
  cpuMs: number;
  wallMs: number;
}

export async function fanoutRound(server: Child, clients: Child[], tag: string, params: BurstParams, subscribers: number): Promise<FanoutSample> {
  const before = await received(clients, tag);
  const r = await server.call<BurstResult>('burst', params);
  const expected = r.published * subscribers;
  const delivered = (await waitForReceived(clients, tag, before + expected)) - before;
  const failed = delivered < expected;
  return { nsPerDelivery: failed ? Infinity : (r.cpuMicros * 1000) / delivered, systemNsPerDelivery: (r.systemMicros * 1000) / delivered, delivered, expected, cpuMs: r.cpuMicros / 1000, wallMs: r.wallMs };
}
