/**
 * GapRepair (core/cluster/gap-repair.ts) on its own, with the reads answered by the test: the orders of
 * events that a real link produces only by chance (the link breaking again while a repair's read is
 * still coming through) are played here step by step. The repair end to end, against real
 * nats-server processes, is in nats.test.ts (conformance fault cases) and the chaos test.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { GapRepair, type RepairRead } from '../../../core/cluster/gap-repair.js';
import { Publication } from '../../../core/publication.js';

const EPOCH = 'e1';
const pub = (seq: number): Publication => new Publication('t', `m${seq}`, seq, EPOCH, 'other');

function repairWithReads() {
  const delivered: number[] = [];
  const missed: string[][] = [];
  const reads: { from: Map<string, number>; answer(read: RepairRead): void }[] = [];
  let up = true;
  const repair = new GapRepair({
    nodeId: 'me',
    logger: pino({ level: 'silent' }),
    deliver: (p) => delivered.push(p.offset!),
    missed: (patterns) => missed.push(patterns),
    connected: () => up,
    patterns: () => ['t'],
    repairable: () => true,
    ready: async () => undefined,
    read: (from) => new Promise<RepairRead>((resolve) => reads.push({ from: new Map(from), answer: resolve })),
    patienceMs: 1000,
  });
  return { repair, delivered, missed, reads, setUp: (value: boolean) => { up = value; } };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('nats gap repair', () => {
  it('a link that breaks again while a repair reads keeps the gap open: live copies wait, the next repair reads that outage too, all in order', async () => {
    const { repair, delivered, missed, reads, setUp } = repairWithReads();
    repair.known(10, EPOCH);
    repair.live(pub(11));
    expect(delivered).toEqual([11]);

    repair.begin(); // the link breaks ...
    const first = repair.repair(); // ... and is back: the repair reads from the stream
    await settle();
    expect(reads).toHaveLength(1);
    setUp(false);
    repair.begin(); // broken again while the read is on its way; the read still comes through
    reads[0]!.answer({ publications: [pub(12)], lost: [] });
    await first;
    expect(delivered).toEqual([11, 12]);

    // Back again: nats.js has restored the subscription, a live copy arrives before the repair runs.
    setUp(true);
    repair.live(pub(14));
    expect(delivered).toEqual([11, 12]); // held: 13 was published during the second outage
    const second = repair.repair();
    await settle();
    expect(reads).toHaveLength(2);
    expect(reads[1]!.from.get('t')).toBeLessThanOrEqual(12);
    reads[1]!.answer({ publications: [pub(12), pub(13), pub(14)], lost: [] });
    await second;
    expect(delivered).toEqual([11, 12, 13, 14]);
    expect(missed).toEqual([]);

    repair.live(pub(15)); // the gap is closed: live again
    expect(delivered).toEqual([11, 12, 13, 14, 15]);
  });
});
