import { createMemoryBus, memoryAdapter } from '../../adapters/memory/index.js';
import { describe, expect, it } from 'vitest';
import { adapterConformance } from './conformance.js';
import { startBroker } from '../helpers/broker.js';

adapterConformance('memory', async () => {
  const bus = createMemoryBus();
  return { node: () => memoryAdapter({ bus }) };
}, { propagationMs: 500 });

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
