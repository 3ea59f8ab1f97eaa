/**
 * Issue 12, defect 1 as a bounded test: anonymous publishers flood large payloads onto thousands of
 * distinct topics for about two seconds. In-memory history stays under history.maxBytes the whole
 * time, and a healthy subscriber beside the flood receives every publication of its own topic.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryBus, memoryAdapter } from '../../core/cluster/memory-adapter.js';
import { startBroker, until } from '../helpers/broker.js';

describe('history flood', () => {
  it('4 publishers x 8 KB payloads on distinct topics: history bytes stay under maxBytes, a healthy subscriber misses nothing', async () => {
    const bus = createMemoryBus();
    const maxBytes = 2 * 1024 * 1024;
    const b = await startBroker({
      adapter: memoryAdapter({ bus }),
      history: { maxBytes },
      limits: { messageRate: 100_000, messageBurst: 100_000 },
    });
    const healthy = await b.client();
    await healthy.request('sub', { topic: 'steady' });
    const flooders = await Promise.all([0, 1, 2, 3].map(() => b.client()));
    const payload = 'x'.repeat(8 * 1024);
    let peak = 0;
    let published = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, bus.history.stats().bytes); }, 5);
    const deadline = Date.now() + 2000;
    let steady = 0;
    const ticker = setInterval(() => { void b.broker.publish('steady', steady++); }, 20);
    await Promise.all(flooders.map(async (f, n) => {
      for (let round = 0; Date.now() < deadline; round++) {
        // 50 pipelined publishes, then wait for their replies: a flood, but one that cannot outrun the test.
        const replies = Array.from({ length: 50 }, (_, i) => f.request('pub', { topic: `flood.${n}.${round}.${i}`, data: payload }));
        for (const r of await Promise.all(replies)) if (r.ok) published++;
      }
    }));
    clearInterval(ticker);
    clearInterval(sampler);
    peak = Math.max(peak, bus.history.stats().bytes);
    console.info(`[security] history flood: ${published} publications of 8 KB on distinct topics in 2 s; history peak ${(peak / 1024 / 1024).toFixed(2)} MiB (maxBytes 2 MiB), ${bus.history.stats().topics} topics kept; healthy subscriber got ${steady} of ${steady}`);
    expect(published).toBeGreaterThan(maxBytes / payload.length * 2); // the flood outgrew the budget several times
    expect(peak).toBeLessThanOrEqual(maxBytes);
    expect(bus.history.stats().topics).toBeLessThan(published);
    await until(() => healthy.messages('steady').length === steady, 'the healthy subscriber to get every steady publication');
    expect(healthy.messages('steady').map((m) => m.data)).toEqual([...Array(steady).keys()]);
    expect(steady).toBeGreaterThan(20);
  }, 30_000);
});
