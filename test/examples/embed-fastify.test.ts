import { describe, expect, it } from 'vitest';
import { portsIn, runExample } from '../helpers/example.js';
import { SseReader } from '../helpers/sse-reader.js';
import { TestClient } from '../helpers/ws-client.js';

describe('examples/embed-fastify', () => {
  it('Fastify keeps its routes; a Fastify route publishes to WebSocket and SSE subscribers on the same port', async () => {
    const { line } = await runExample('embed-fastify', 'npm run example:embed-fastify', { PORT: '0' });
    const [port] = portsIn(line);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).json()).toEqual({ app: 'fastify', herald: ['/ws', '/events'] });
    expect((await fetch(`http://127.0.0.1:${port}/nope`)).status).toBe(404); // Fastify's 404, not Herald's
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    await c.request('sub', { topic: 'orders.created' });
    const stream = await SseReader.open(`http://127.0.0.1:${port}/events?topic=orders.created`);
    await stream.waitFor(() => stream.events.some((e) => e.event === 'herald-ready'), 'the SSE stream');
    const res = await fetch(`http://127.0.0.1:${port}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item: 'book' }) });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ ok: true, order: { id: 1, item: 'book' }, offset: 1 });
    expect((await c.waitForMessages(1))[0]).toMatchObject({ topic: 'orders.created', data: { id: 1, item: 'book' } });
    await stream.waitFor(() => stream.events.some((e) => e.event === 'message'), 'the SSE publication');
    expect(JSON.parse(stream.events.find((e) => e.event === 'message')!.data)).toMatchObject({ data: { id: 1, item: 'book' } });
    await c.close();
    stream.res.destroy();
  }, 30_000);
});
