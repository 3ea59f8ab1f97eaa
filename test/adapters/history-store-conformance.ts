/**
 * The history store conformance suite (core/contracts.ts HistoryStore): the memory store and the
 * durable lmdb store pass the same cases. Each case drives a store directly with a clock it moves,
 * so ages are exact without waiting. Call it from a test file with a factory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryBounds, HistoryStore } from '../../core/contracts.js';

export interface StoreFactory {
  /** A new, empty store using `now` as its clock. */
  create(now: () => number): HistoryStore | Promise<HistoryStore>;
  /** For durable stores: another store over what `store` (closed first) kept. */
  reopen?(store: HistoryStore, now: () => number): HistoryStore | Promise<HistoryStore>;
}

const defaults: HistoryBounds = { size: 100, ttl: 60_000, maxTopics: 1000, maxBytes: 64 * 1024 * 1024 };

export function historyStoreConformance(name: string, factory: StoreFactory): void {
  describe(`history store conformance: ${name}`, () => {
    let clock = 1_000_000;
    const now = (): number => clock;
    const open: HistoryStore[] = [];
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
      clock = 1_000_000;
    });

    async function store(bounds: Partial<HistoryBounds> = {}): Promise<HistoryStore> {
      const s = await factory.create(now);
      await s.open({ ...defaults, ...bounds });
      open.push(s);
      return s;
    }

    async function publish(s: HistoryStore, topic: string, ...values: unknown[]): Promise<{ offset: number; epoch: string }[]> {
      // All appended in one turn, as a burst of pipelined publishes is.
      const pubs = await Promise.all(values.map((v) => s.append(topic, v, 'node-a')));
      return pubs.map((p) => ({ offset: p.offset!, epoch: p.epoch! }));
    }

    it('gives contiguous offsets from 1 in call order under one epoch, and reads the newest oldest first', async () => {
      const s = await store();
      const positions = await publish(s, 'a', 'one', { two: 2 }, [3], null, 5.5);
      expect(positions.map((p) => p.offset)).toEqual([1, 2, 3, 4, 5]);
      expect(new Set(positions.map((p) => p.epoch)).size).toBe(1);
      const all = await s.read('a', {});
      expect(all.publications.map((p) => p.data)).toEqual(['one', { two: 2 }, [3], null, 5.5]);
      expect(all.publications.map((p) => p.origin)).toEqual(['node-a', 'node-a', 'node-a', 'node-a', 'node-a']);
      expect(all.position).toEqual({ offset: 5, epoch: positions[0]!.epoch });
      expect(all.recovered).toBe(false);
      expect((await s.read('a', { limit: 2 })).publications.map((p) => p.offset)).toEqual([4, 5]);
      expect((await s.read('a', { limit: 0 })).publications).toEqual([]);
      // Topics count separately; one order across them.
      const [b] = await publish(s, 'b', 'bee');
      expect(b!.offset).toBe(1);
      const seqA = (await s.read('a', {})).publications.map((p) => p.sequence!);
      const seqB = (await s.read('b', {})).publications[0]!.sequence!;
      expect(seqA.every((q, i) => i === 0 || q > seqA[i - 1]!)).toBe(true);
      expect(seqB).toBeGreaterThan(seqA[4]!);
    });

    it('keeps bytes and bigints a msgpack publisher sends', async () => {
      const s = await store();
      await publish(s, 'bin', { raw: Buffer.from([0, 1, 255]), big: 2n ** 60n + 1n, text: 'é' });
      const [p] = (await s.read('bin', {})).publications;
      const data = p!.data as { raw: Uint8Array; big: bigint; text: string };
      expect(Buffer.from(data.raw)).toEqual(Buffer.from([0, 1, 255]));
      expect(data.big).toBe(2n ** 60n + 1n);
      expect(data.text).toBe('é');
    });

    it('hands out byte strings of their own: later reads and publishes leave them as read', async () => {
      const s = await store();
      await publish(s, 'bin-a', { raw: Buffer.from([1, 2, 3, 4]) });
      await publish(s, 'bin-b', { raw: Buffer.from([9, 9, 9, 9]) });
      const [a] = (await s.read('bin-a', {})).publications;
      await s.read('bin-b', {});
      await publish(s, 'bin-a', { raw: Buffer.from([7, 7, 7, 7]) });
      await s.read('bin-a', {});
      expect(Buffer.from((a!.data as { raw: Uint8Array }).raw)).toEqual(Buffer.from([1, 2, 3, 4]));
    });

    it('resumes from a position: exactly what followed, recovered:true; otherwise recovered:false', async () => {
      const s = await store();
      const [first, , third] = await publish(s, 't', 1, 2, 3, 4);
      const after = await s.read('t', { since: third });
      expect(after).toMatchObject({ recovered: true, position: { offset: 4 } });
      expect(after.publications.map((p) => p.data)).toEqual([4]);
      expect((await s.read('t', { since: { offset: 4, epoch: first!.epoch } }))).toMatchObject({ publications: [], recovered: true });
      expect((await s.read('t', { since: { offset: 0, epoch: first!.epoch } })).publications.map((p) => p.data)).toEqual([1, 2, 3, 4]);
      expect((await s.read('t', { since: { offset: 1, epoch: 'other' } })).recovered).toBe(false);
      expect((await s.read('t', { since: { offset: 9, epoch: first!.epoch } })).recovered).toBe(false);
      const limited = await s.read('t', { since: first!, limit: 2 });
      expect(limited.publications.map((p) => p.data)).toEqual([2, 3]);
      expect(limited.recovered).toBe(false);
    });

    it('keeps at most size per topic: a resume from before the window says recovered:false', async () => {
      const s = await store({ size: 3 });
      const positions = await publish(s, 't', 1, 2, 3, 4, 5);
      expect((await s.read('t', {})).publications.map((p) => p.data)).toEqual([3, 4, 5]);
      expect((await s.read('t', { since: positions[0]! })).recovered).toBe(false);
      const edge = await s.read('t', { since: positions[1]! });
      expect(edge).toMatchObject({ recovered: true });
      expect(edge.publications.map((p) => p.data)).toEqual([3, 4, 5]);
    });

    it('returns nothing older than ttl, and a resume from before an expired one says recovered:false', async () => {
      const s = await store({ ttl: 1000 });
      const [p1] = await publish(s, 't', 'old');
      clock += 600;
      const [p2] = await publish(s, 't', 'newer');
      clock += 500; // 'old' is 1100 ms old, 'newer' 500 ms
      expect((await s.read('t', {})).publications.map((p) => p.data)).toEqual(['newer']);
      expect((await s.read('t', { since: { offset: 0, epoch: p1!.epoch } })).recovered).toBe(false);
      expect((await s.read('t', { since: p1! })).recovered).toBe(true);
      expect((await s.read('t', { since: p2! })).recovered).toBe(true);
    });

    it('sweeps expired publications of topics nobody reads, and forgets topics left empty under a new epoch', async () => {
      const s = await store({ ttl: 1000 });
      const [idle] = await publish(s, 'idle', 'a', 'b');
      await publish(s, 'busy', 'x');
      clock += 800;
      await publish(s, 'busy', 'y');
      expect(s.stats()).toMatchObject({ topics: 2, publications: 4 });
      const before = s.stats().bytes;
      expect(before).toBeGreaterThan(0);
      clock += 300;
      s.sweep();
      expect(s.stats()).toMatchObject({ topics: 1, publications: 1 });
      expect(s.stats().bytes).toBeLessThan(before);
      const gone = await s.read('idle', { since: idle! });
      expect(gone.recovered).toBe(false);
      expect(gone.position.epoch).not.toBe(idle!.epoch);
    });

    it('holds at most maxTopics, dropping the least recently published; reads never push one out', async () => {
      const s = await store({ maxTopics: 2 });
      const [t1] = await publish(s, 't1', 'one');
      const [t2] = await publish(s, 't2', 'two');
      await publish(s, 't1', 'one again');
      for (let i = 0; i < 10; i++) await s.read(`nobody.${i}`, {});
      expect(s.stats().topics).toBe(2);
      await publish(s, 't3', 'three');
      expect(s.stats().topics).toBe(2);
      const t2now = await s.read('t2', { since: t2! });
      expect(t2now.recovered).toBe(false);
      expect(t2now.position.epoch).not.toBe(t2!.epoch);
      const resumed = await s.read('t1', { since: t1! });
      expect(resumed.recovered).toBe(true);
      expect(resumed.publications.map((p) => p.data)).toEqual(['one again']);
    });

    it('holds at most maxBytes: the least recently published topics lose their oldest publications first', async () => {
      const payload = 'x'.repeat(1000);
      // What one publication counts for in this store, measured in a store of its own.
      const probe = await store();
      await publish(probe, 'probe', payload);
      const unit = probe.stats().bytes;
      const s = await store({ maxBytes: Math.floor(unit * 4.5) });
      await publish(s, 'old', payload, payload);
      await publish(s, 'new', payload, payload, payload);
      expect(s.stats().bytes).toBeLessThanOrEqual(unit * 4.5);
      const old = await s.read('old', {});
      const fresh = await s.read('new', {});
      expect(fresh.publications).toHaveLength(3);
      expect(old.publications.map((p) => p.offset)).toEqual([2]);
      // The topic being published keeps its offsets even when it alone is over the budget.
      const big = await publish(s, 'new', 'y'.repeat(6000));
      expect(big[0]!.offset).toBe(4);
      expect((await s.read('new', {})).position.offset).toBe(4);
    });

    it('a topic without state reports the current epoch, and its first publish starts there', async () => {
      const s = await store();
      const empty = await s.read('later', {});
      expect(empty).toMatchObject({ publications: [], position: { offset: 0 }, recovered: false });
      expect(s.stats().topics).toBe(0);
      await publish(s, 'later', 'first');
      const resumed = await s.read('later', { since: empty.position });
      expect(resumed.recovered).toBe(true);
      expect(resumed.publications.map((p) => p.data)).toEqual(['first']);
    });

    it('is shared: counted opens, usable until the last close', async () => {
      const s = await store();
      await s.open(defaults);
      await s.close();
      await publish(s, 'shared', 1);
      expect((await s.read('shared', {})).publications).toHaveLength(1);
    });

    if (factory.reopen !== undefined) {
      const reopen = factory.reopen;
      describe('durability', () => {
        it('keeps positions, epochs, bounds and the order across close and open', async () => {
          const s = await store({ size: 3 });
          const positions = await publish(s, 't', 1, 2, 3, 4);
          const [other] = await publish(s, 'u', 'u1');
          const seq = (await s.read('u', {})).publications[0]!.sequence!;
          open.splice(open.indexOf(s), 1);
          await s.close();
          const again = await reopen(s, now);
          await again.open({ ...defaults, size: 3 });
          open.push(again);
          const resumed = await again.read('t', { since: positions[1]! });
          expect(resumed).toMatchObject({ recovered: true, position: positions[3] });
          expect(resumed.publications.map((p) => [p.data, p.offset, p.epoch])).toEqual([[3, 3, positions[0]!.epoch], [4, 4, positions[0]!.epoch]]);
          expect((await again.read('t', { since: { offset: 0, epoch: positions[0]!.epoch } })).recovered).toBe(false);
          const [next] = await publish(again, 't', 5);
          expect(next).toEqual({ offset: 5, epoch: positions[0]!.epoch });
          const [u2] = await publish(again, 'u', 'u2');
          expect(u2!.epoch).toBe(other!.epoch);
          expect((await again.read('u', {})).publications[1]!.sequence).toBeGreaterThan(seq);
          expect(again.stats()).toMatchObject({ topics: 2, publications: 5 });
        });

        it('never reuses an epoch of a dropped topic after a restart', async () => {
          const s = await store({ maxTopics: 1 });
          const [a] = await publish(s, 'a', 1);
          await publish(s, 'b', 1); // drops 'a'
          open.splice(open.indexOf(s), 1);
          await s.close();
          const again = await reopen(s, now);
          await again.open({ ...defaults, maxTopics: 1 });
          open.push(again);
          const [a2] = await publish(again, 'a', 'again');
          expect(a2!.offset).toBe(1);
          expect(a2!.epoch).not.toBe(a!.epoch);
          expect((await again.read('a', { since: a! })).recovered).toBe(false);
        });

        it('applies smaller bounds given at the next open', async () => {
          const s = await store();
          await publish(s, 't', 1, 2, 3, 4, 5);
          open.splice(open.indexOf(s), 1);
          await s.close();
          const again = await reopen(s, now);
          await again.open({ ...defaults, size: 2 });
          open.push(again);
          expect(again.stats().publications).toBe(2);
          expect((await again.read('t', {})).publications.map((p) => p.data)).toEqual([4, 5]);
        });
      });
    }
  });
}
