/**
 * Graceful shutdown drains (docs/operations.md#shutdown): broker.close() stops accepting, flushes
 * what is queued, tells every client to reconnect (ws 1001, socket.io `herald:close`, SSE
 * `herald-close`), then closes the cluster adapter, after the sessions are gone. The binary does the
 * same on SIGTERM, and leaves NATS (its connection disappears from the server).
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { memoryAdapter } from '../../core/cluster/memory-adapter.js';
import type { ClusterAdapter } from '../../core/contracts.js';
import { createBroker } from '../../core/index.js';
import { metrics } from '../../ops/metrics/index.js';
import { socketio } from '../../transports/socketio/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';
import { startBinary } from '../helpers/binary.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { closeSocketIoClients, connectSocketIo } from '../helpers/socketio-client.js';
import { SseReader } from '../helpers/sse-reader.js';
import { TestClient } from '../helpers/ws-client.js';

afterEach(() => closeSocketIoClients());

const refused = (port: number) => new Promise<string>((resolve) => {
  const socket = connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve('connected'); });
  socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
});

describe('graceful shutdown', () => {
  it('flushes every queued publication, closes ws with 1001, socket.io and SSE with a reconnect hint, then closes the adapter', async () => {
    const events: string[] = [];
    let broker!: Awaited<ReturnType<typeof createBroker>>;
    const adapter: ClusterAdapter = Object.assign(Object.create(memoryAdapter()) as ClusterAdapter, {
      async close() { events.push(`adapter closed with ${broker.stats().connections} sessions left`); },
    });
    broker = await createBroker({ port: 0, logger: false, adapter, transports: [ws(), socketio(), sse(), metrics()] });
    const port = broker.address()!.port;
    const wsc = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    await wsc.request('sub', { topic: 'drain' });
    const sio = await connectSocketIo(port);
    expect(await sio.socket.emitWithAck('subscribe', 'drain')).toMatchObject({ ok: true });
    const stream = await SseReader.open(`http://127.0.0.1:${port}/events?topic=drain`);
    await stream.waitFor(() => stream.events.some((e) => e.event === 'herald-ready'), 'the SSE stream to be ready');

    // 200 publications accepted, still queued in the sessions (flushed at the end of the turn),
    // and close() called in the same turn: nothing may be lost.
    const N = 200;
    await Promise.all(Array.from({ length: N }, (_, i) => broker.publish('drain', i)));
    const closing = broker.close();

    expect(await wsc.waitClose()).toBe(1001);
    expect(wsc.messages('drain').map((m) => m.data)).toEqual([...Array(N).keys()]);
    await sio.disconnectReason;
    expect(sio.messages.map((m) => m.data)).toEqual([...Array(N).keys()]);
    expect(sio.closes).toEqual([expect.objectContaining({ code: 1001, reconnect: true })]);
    await stream.waitEnd();
    const data = stream.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data).data);
    expect(data).toEqual([...Array(N).keys()]);
    expect(JSON.parse(stream.events.at(-1)!.data)).toMatchObject({ code: 1001, reconnect: true });

    await closing;
    expect(events).toEqual(['adapter closed with 0 sessions left']);
    expect(await refused(port)).toBe('ECONNREFUSED');
    await expect(broker.publish('drain', 'late')).rejects.toThrow(/shutting down/);
  });

  it('the binary on NATS reports its connection and round trip in /metrics; on SIGTERM clients get 1001, its NATS connection goes, it exits 0', async () => {
    const nats = await startNatsServer();
    onTestFinished(() => nats.stop());
    const { child, port } = await startBinary(['--port', '0', '--nats', nats.url, '--no-dashboard']);
    const conns = async () => (await nats.server.monitor<{ num_connections: number }>('/connz')).num_connections;
    expect(await conns()).toBe(1);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(await ready.json()).toMatchObject({ ok: true, checks: { nats: 'ok' } });
    // The real NATS adapter's state and round trip reach /metrics.
    const scraped = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(scraped).toMatch(/^herald_nats_connected 1$/m);
    const rtt = Number(/^herald_nats_rtt_seconds (\S+)$/m.exec(scraped)?.[1]);
    expect(rtt).toBeGreaterThan(0);
    expect(rtt).toBeLessThan(1);
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    await c.request('sub', { topic: 'bye' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await c.waitClose()).toBe(1001);
    expect(await exited).toBe(0);
    const deadline = Date.now() + 5000;
    while ((await conns()) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await conns()).toBe(0);
  }, 30_000);
});
