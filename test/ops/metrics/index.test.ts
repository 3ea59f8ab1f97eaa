/**
 * /metrics (prom-client, one registry per broker) and /readyz: every Herald counter moves when
 * the thing it counts happens, read over HTTP as Prometheus would.
 */
import { describe, expect, it } from 'vitest';
import { memoryAdapter } from '../../../core/cluster/memory-adapter.js';
import type { ClusterAdapter } from '../../../core/contracts.js';
import { metrics } from '../../../ops/metrics/index.js';
import { readinessOf } from '../../../ops/metrics/readiness.js';
import { sse } from '../../../transports/sse/index.js';
import { ws } from '../../../transports/ws/index.js';
import { startBroker } from '../../helpers/broker.js';
import { TestClient } from '../../helpers/ws-client.js';

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('metrics', () => {
  it('counts connections by transport, subscriptions, topics, publications and deliveries', async () => {
    const b = await startBroker({ transports: [ws(), sse(), metrics()] });
    const before = await scrape(b.port);
    expect(sample(before, 'herald_publications_total{origin="local"}')).toBe(0);
    expect(sample(before, 'herald_subscriptions')).toBe(0);

    const sub = await b.client();
    const sub2 = await b.client();
    await sub.request('sub', { topic: 'm.a' });
    await sub2.request('sub', { topic: 'm.*' });
    const stream = await fetch(`http://127.0.0.1:${b.port}/events?topic=m.a`);
    const reader = stream.body!.getReader();
    await reader.read(); // the stream is open once its first bytes arrive
    for (let i = 0; i < 3; i++) await sub.request('pub', { topic: 'm.a', data: i });
    await sub2.waitForMessages(3);

    const text = await scrape(b.port);
    expect(sample(text, 'herald_connections{transport="ws"}')).toBe(2);
    expect(sample(text, 'herald_connections{transport="sse"}')).toBe(1);
    expect(sample(text, 'herald_subscriptions')).toBe(3);
    expect(sample(text, 'herald_topics')).toBe(2);
    expect(sample(text, 'herald_publications_total{origin="local"}')).toBe(3);
    expect(sample(text, 'herald_publications_total{origin="cluster"}')).toBe(0);
    expect(sample(text, 'herald_deliveries_total')).toBe(9); // 3 publications x 3 sessions
    // Process and event-loop metrics from prom-client's defaults, on the same registry.
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);

    await reader.cancel();
    await sub.close();
    await sub2.close();
    const after = await scrape(b.port);
    expect(sample(after, 'herald_connections{transport="ws"}')).toBeUndefined();
    expect(sample(after, 'herald_disconnects_total{code="1005"}')).toBe(2);
  });

  it('counts recoveries (complete and not), slow-consumer closes with their dropped messages, and auth failures', async () => {
    const b = await startBroker({
      transports: [ws(), metrics({ defaultMetrics: false })],
      limits: { outboundBytes: 600 },
      hooks: { authenticate: (h) => { if (h.token === 'bad') throw new Error('no'); return { user: h.token ?? 'anonymous' }; } },
    });
    const c = await b.client();
    const reply = await c.request('sub', { topic: 'r.t' });
    await b.broker.publish('r.t', 'one');
    await c.waitForMessages(1);
    await c.close();
    const again = await b.client();
    expect(await again.request('sub', { topic: 'r.t', since: { offset: 0, epoch: reply.epoch } })).toMatchObject({ recovered: true });
    expect(await again.request('sub', { topic: 'r.u', since: { offset: 5, epoch: 'gone' } })).toMatchObject({ recovered: false });

    // Three publications in one turn, 300 bytes each, against a 600-byte cap: the third trips 4008.
    const slow = await b.client();
    await slow.request('sub', { topic: 'big' });
    const blob = 'x'.repeat(300);
    await Promise.all([0, 1, 2].map((i) => b.broker.publish('big', { i, blob })));
    expect(await slow.waitClose()).toBe(4008);

    const refused = await TestClient.connect(`${b.url}?`, { headers: { authorization: 'Bearer bad' } });
    expect(await refused.waitClose()).toBe(4001);

    const text = await scrape(b.port);
    expect(sample(text, 'herald_recoveries_total{result="complete"}')).toBe(1);
    expect(sample(text, 'herald_recoveries_total{result="incomplete"}')).toBe(1);
    expect(sample(text, 'herald_slow_consumer_closes_total')).toBe(1);
    expect(sample(text, 'herald_dropped_messages_total')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'herald_disconnects_total{code="4008"}')).toBe(1);
    expect(sample(text, 'herald_auth_failures_total')).toBe(1);
    expect(sample(text, 'herald_disconnects_total{code="4001"}')).toBe(1);
    expect(text).not.toMatch(/^process_cpu/m); // defaultMetrics: false
  });

  it('gives each broker its own registry: two brokers in one process report their own counts', async () => {
    const a = await startBroker({ transports: [ws(), metrics()] });
    const b = await startBroker({ transports: [ws(), metrics()] });
    await a.broker.publish('x.y', 1);
    await a.broker.publish('x.y', 2);
    await b.broker.publish('x.y', 3);
    expect(sample(await scrape(a.port), 'herald_publications_total{origin="local"}')).toBe(2);
    expect(sample(await scrape(b.port), 'herald_publications_total{origin="local"}')).toBe(1);
  });

  it('reports NATS connection state and round trip from an adapter that has stats(), and /readyz follows the connection', async () => {
    let connected = true;
    const inner = memoryAdapter();
    const adapter = Object.assign(Object.create(inner) as ClusterAdapter, {
      stats: () => ({ connected, lostPublications: 4, unstoredPublications: 0, disconnects: 1, reconnects: 1, received: 7, delivered: 7, duplicates: 0 }),
      rtt: async () => (connected ? 2.5 : undefined),
    });
    const b = await startBroker({ adapter, transports: [ws(), metrics({ defaultMetrics: false })] });
    let text = await scrape(b.port);
    expect(sample(text, 'herald_nats_connected')).toBe(1);
    expect(sample(text, 'herald_nats_rtt_seconds')).toBe(0.0025);
    expect(sample(text, 'herald_nats_lost_publications_total')).toBe(4);
    expect(sample(text, 'herald_nats_received_total')).toBe(7);
    let ready = await fetch(`http://127.0.0.1:${b.port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, checks: { broker: 'ok', nats: 'ok' } });

    connected = false;
    text = await scrape(b.port);
    expect(sample(text, 'herald_nats_connected')).toBe(0);
    expect(sample(text, 'herald_nats_rtt_seconds')).toBeNaN();
    ready = await fetch(`http://127.0.0.1:${b.port}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ok: false, checks: { nats: 'disconnected' } });
  });

  it('/readyz: ready with the memory adapter (no NATS check), not ready while shutting down', async () => {
    const b = await startBroker({ transports: [ws(), metrics()] });
    const res = await fetch(`http://127.0.0.1:${b.port}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, node: b.broker.nodeId, checks: { broker: 'ok' } });
    expect(readinessOf(memoryAdapter(), true)).toEqual({ ready: false, checks: { broker: 'shutting down' } });
    expect((await fetch(`http://127.0.0.1:${b.port}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
