import { createMemoryBus, memoryAdapter, memoryHistory } from '../../../core/cluster/memory-adapter.js';
import { describe, expect, it } from 'vitest';
import { adapterConformance } from '../../adapters/conformance.js';
import { historyStoreConformance } from '../../adapters/history-store-conformance.js';
import { startBroker, until } from '../../helpers/broker.js';

adapterConformance('memory', async () => {
  const bus = createMemoryBus();
  return { node: () => memoryAdapter({ bus }) };
}, { propagationMs: 500 });

historyStoreConformance('memory', { create: (now) => memoryHistory({ now }) });

describe('memory adapter: history.maxTopics', () => {
  it('drops the least recently published topic past maxTopics, under a new epoch, so a resume says recovered:false', async () => {
    const { broker, client } = await startBroker({ history: { maxTopics: 2 } });
    const t1 = await broker.publish('t1', 'one');
    const t2First = await broker.publish('t2', 'two');
    await broker.publish('t1', 'one again'); // t1 is now the most recently published
    await broker.publish('t3', 'three'); // over the bound: t2 goes
    expect((await broker.history('t2')).publications).toEqual([]);
    expect((await broker.history('t1')).publications.map((p) => p.data)).toEqual(['one', 'one again']);
    expect((await broker.history('t3')).publications.map((p) => p.data)).toEqual(['three']);
    const c = await client();
    const t2 = await c.request('history', { topic: 't2' });
    expect(t2.epoch).not.toBe(t2First.epoch); // its positions start over under a new epoch
    expect(t2.offset).toBe(0);
    const resumed = await c.request('sub', { topic: 't1', since: { offset: 1, epoch: t1.epoch } });
    expect(resumed).toMatchObject({ ok: true, recovered: true, offset: 2 });
    expect(c.messages().map((m) => m.data)).toEqual(['one again']);
    const lost = await c.request('sub', { topic: 't2', since: { offset: 1, epoch: t2First.epoch } });
    expect(lost.recovered).toBe(false);
  });

  it('reading or subscribing to topics nobody published never pushes a published topic out', async () => {
    const { broker, client } = await startBroker({ history: { maxTopics: 2 } });
    const kept = await broker.publish('kept.a', 1);
    await broker.publish('kept.b', 2);
    const c = await client();
    for (let i = 0; i < 10; i++) {
      await c.request('history', { topic: `nobody.${i}` });
      await c.request('sub', { topic: `nobody.sub.${i}` });
    }
    expect((await broker.history('kept.a')).publications.map((p) => p.data)).toEqual([1]);
    expect((await broker.history('kept.b')).publications.map((p) => p.data)).toEqual([2]);
    expect((await c.request('sub', { topic: 'kept.a', since: { offset: 0, epoch: kept.epoch } })).recovered).toBe(true);
  });
});

describe('memory adapter: history.maxBytes', () => {
  it('keeps the bytes of all histories under maxBytes by dropping the least recently published first; a resume from a dropped one says recovered:false', async () => {
    const bus = createMemoryBus();
    const maxBytes = 64 * 1024;
    const { broker, client } = await startBroker({ adapter: memoryAdapter({ bus }), history: { maxBytes } });
    const payload = 'x'.repeat(1000); // about 2 KB decoded
    const first = await broker.publish('old.0', payload);
    let peak = 0;
    for (let i = 0; i < 200; i++) {
      await broker.publish(`flood.${i}`, payload);
      peak = Math.max(peak, bus.history.stats().bytes);
    }
    expect(peak).toBeLessThanOrEqual(maxBytes);
    expect(peak).toBeGreaterThan(maxBytes / 2); // the budget is used, not just refused
    expect((await broker.history('old.0')).publications).toEqual([]);
    expect((await broker.history('flood.199')).publications.map((p) => p.data)).toEqual([payload]);
    const c = await client();
    const lost = await c.request('sub', { topic: 'old.0', since: { offset: 0, epoch: first.epoch } });
    expect(lost).toMatchObject({ ok: true, recovered: false });
  });

  it('a single topic over the budget loses its oldest publications and keeps counting offsets in its epoch', async () => {
    const bus = createMemoryBus();
    const { broker } = await startBroker({ adapter: memoryAdapter({ bus }), history: { maxBytes: 20_000 } });
    let last;
    for (let i = 0; i < 50; i++) last = await broker.publish('one', `${i}`.padEnd(1000, '.'));
    const h = await broker.history('one');
    expect(bus.history.stats().bytes).toBeLessThanOrEqual(20_000);
    expect(h.position).toEqual({ offset: 50, epoch: last!.epoch });
    expect(h.publications.length).toBeGreaterThan(3);
    expect(h.publications.length).toBeLessThan(50);
    expect(h.publications.at(-1)!.offset).toBe(50);
    expect((await broker.history('one', { since: { offset: 0, epoch: last!.epoch! } })).recovered).toBe(false);
    expect((await broker.history('one', { since: { offset: 49, epoch: last!.epoch! } })).recovered).toBe(true);
  });
});

describe('memory adapter: ttl sweep', () => {
  it('frees idle topics whose publications outlived the ttl without anyone touching them (injected clock)', async () => {
    let now = 1_000_000;
    const bus = createMemoryBus({ now: () => now });
    const { broker } = await startBroker({ adapter: memoryAdapter({ bus, sweepInterval: 10 }), history: { ttl: 60_000 } });
    for (let i = 0; i < 20; i++) await broker.publish(`idle.${i}`, { i });
    expect(bus.history.stats().topics).toBe(20);
    now += 30_000;
    await broker.publish('fresh', 1);
    now += 40_000; // idle.* are 70 s old, fresh 40 s
    await until(() => bus.history.stats().topics === 1, 'the sweep to free the idle topics');
    expect((await broker.history('fresh')).publications.map((p) => p.data)).toEqual([1]);
    now += 30_000;
    await until(() => bus.history.stats().topics === 0 && bus.history.stats().bytes === 0, 'the sweep to free the last topic');
  });
});

describe('memory adapter: reads hold nothing', () => {
  it('history reads and subscriptions of unpublished topics create no state', async () => {
    const bus = createMemoryBus();
    const { client } = await startBroker({ adapter: memoryAdapter({ bus }), history: { maxTopics: 2 } });
    const c = await client();
    for (let i = 0; i < 50; i++) {
      await c.request('history', { topic: `junk.${i}` });
      await c.request('sub', { topic: `junk.sub.${i}`, since: { offset: 0, epoch: 'x' } });
      await c.request('unsub', { topic: `junk.sub.${i}` });
    }
    expect(bus.history.stats().topics).toBe(0);
    expect(bus.history.stats().bytes).toBe(0);
  });

  it('a resume from the position read before the first publish recovers it, however many other topics were read meanwhile', async () => {
    const { broker, client } = await startBroker({ history: { maxTopics: 2 } });
    const c = await client();
    const before = await c.request('history', { topic: 'later' });
    expect(before.offset).toBe(0);
    for (let i = 0; i < 10; i++) await c.request('history', { topic: `other.${i}` });
    await broker.publish('later', 'first');
    const resumed = await c.request('sub', { topic: 'later', since: { offset: 0, epoch: before.epoch } });
    expect(resumed).toMatchObject({ ok: true, recovered: true, offset: 1 });
    await until(() => c.messages().length === 1, 'the replayed publication');
    expect(c.messages().map((m) => m.data)).toEqual(['first']);
  });
});
