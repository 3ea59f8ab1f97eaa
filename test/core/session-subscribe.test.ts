import { describe, expect, it } from 'vitest';
import { startBroker, until } from '../helpers/broker.js';
import { MemoryTransport } from '../helpers/memory-transport.js';

describe('Session subscribe: recoveries answered together', () => {
  it('replays back-to-back recoveries interleaved in publish order, then their replies, then what came live meanwhile', async () => {
    const memory = new MemoryTransport();
    const { broker } = await startBroker({ transports: [memory] });
    const a1 = await broker.publish('a', 'a1');
    await broker.publish('b', 'b1');
    await broker.publish('a', 'a2');
    const b2 = await broker.publish('b', 'b2');
    const c = memory.connect();
    c.session.handle({ op: 'sub', topic: 'a', since: { offset: 0, epoch: a1.epoch }, id: 1 });
    c.session.handle({ op: 'sub', topic: 'b', since: { offset: 0, epoch: b2.epoch }, id: 2 });
    c.session.handle({ op: 'ping', id: 3 });
    await until(() => c.messages().some((m) => 'id' in m && m.id === 3), 'the ping reply');
    await broker.publish('a', 'a3');
    await until(() => c.messages().length === 8, 'the live publication');
    const shape = c.messages().map((m) => ('id' in m ? `id ${m.id}${'recovered' in m ? ` ${String(m.recovered)}` : ''}` : `${m.op} ${String((m as { data?: unknown }).data)}`));
    // One batch: a's and b's replays in the order they were published, not topic by topic.
    expect(shape).toEqual(['msg a1', 'msg b1', 'msg a2', 'msg b2', 'id 1 true', 'id 2 true', 'id 3', 'msg a3']);
  });
});

describe('Session: live copies older than a subscribe', () => {
  it('drops a live copy at or before the position its subscribe announced (one that arrived late, as over NATS)', async () => {
    const { memoryAdapter } = await import('../../core/cluster/memory-adapter.js');
    const { Publication } = await import('../../core/publication.js');
    const inner = memoryAdapter();
    let node: import('../../core/contracts.js').AdapterNode | undefined;
    // The copy of a publication made just before the subscribe reaches this node only after it.
    const adapter: import('../../core/contracts.js').ClusterAdapter = {
      ...inner, name: 'late-copy',
      start: (n) => { node = n; return inner.start(n); },
      publish: (t, d) => inner.publish(t, d),
      publishOnce: (t, d, k, w) => inner.publishOnce(t, d, k, w),
      gatherControl: (c) => inner.gatherControl(c),
      subscribe: (p) => inner.subscribe(p),
      unsubscribe: (p) => inner.unsubscribe(p),
      join: (t, e) => inner.join(t, e),
      leave: (t, c) => inner.leave(t, c),
      presence: (t) => inner.presence(t),
      close: () => inner.close(),
      history: async (topic, query) => {
        const result = await inner.history(topic, query);
        if (topic === 'late' && result.position.offset > 0) {
          node!.deliver(new Publication(topic, 'late copy', result.position.offset, result.position.epoch, 'elsewhere'));
        }
        return result;
      },
    };
    const { broker, client } = await startBroker({ adapter });
    const early = await broker.publish('late', 'early');
    const c = await client();
    const reply = await c.request('sub', { topic: 'late' });
    expect(reply).toMatchObject({ ok: true, offset: early.offset, epoch: early.epoch });
    await broker.publish('late', 'next');
    const [got] = await c.waitForMessages(1);
    await c.request('ping');
    expect(got!.data).toBe('next');
    expect(c.messages().map((m) => m.data)).toEqual(['next']);
  });
});
