/**
 * One topic space across protocols: a ws client, a socket.io client and an SSE client (the
 * `eventsource` package) follow one topic; publications from ws, socket.io and the HTTP API reach
 * all three with the same data and offsets, in the same order.
 */
import { EventSource, type EventSourceLike } from '../helpers/eventsource.js';
import { afterEach, describe, expect, it } from 'vitest';
import { httpApi } from '../../transports/http/index.js';
import { socketio } from '../../transports/socketio/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';
import { startBroker } from '../helpers/broker.js';
import { closeSocketIoClients, connectSocketIo } from '../helpers/socketio-client.js';
import { until } from '../helpers/until.js';

const sources: EventSourceLike[] = [];
afterEach(() => {
  closeSocketIoClients();
  for (const s of sources.splice(0)) s.close();
});

describe('one topic space across protocols', () => {
  it('delivers publications from ws, socket.io and HTTP to ws, socket.io and SSE subscribers alike', async () => {
    const b = await startBroker({ transports: [ws(), socketio(), sse(), httpApi()] });
    const base = `http://127.0.0.1:${b.port}`;

    const wsClient = await b.client();
    await wsClient.request('sub', { topic: 'room.1' });
    const sio = await connectSocketIo(b.port);
    expect(await sio.socket.emitWithAck('subscribe', 'room.1')).toMatchObject({ ok: true });
    const es = new EventSource(`${base}/events?topic=room.1`);
    sources.push(es);
    const sseMessages: Record<string, unknown>[] = [];
    es.onmessage = (e) => sseMessages.push(JSON.parse(e.data));
    await new Promise((resolve) => es.addEventListener('herald-ready', resolve, { once: true }));

    const publishers: (() => Promise<unknown>)[] = [
      () => wsClient.request('pub', { topic: 'room.1', data: { from: 'ws' } }),
      () => sio.socket.emitWithAck('publish', 'room.1', { from: 'socket.io' }),
      () => fetch(`${base}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'room.1', data: { from: 'http' } }) }).then((r) => r.json()),
    ];
    const acks: any[] = [];
    for (let round = 0; round < 3; round++) for (const publish of publishers) acks.push(await publish());
    // And some at once, interleaved, so order is decided by the broker rather than by this loop.
    acks.push(...(await Promise.all(publishers.map((p) => p()))));
    expect(acks.every((a) => a.ok === true)).toBe(true);

    const count = acks.length;
    await wsClient.waitForMessages(count, 'room.1');
    await until(() => sio.messages.length === count && sseMessages.length === count, `${count} messages on socket.io and SSE`);

    const wsSeen = wsClient.messages('room.1').map(({ op: _op, ...m }) => m);
    const sseSeen = sseMessages.map(({ op: _op, ...m }) => m);
    expect(sio.messages).toEqual(wsSeen);
    expect(sseSeen).toEqual(wsSeen);
    expect(wsSeen.map((m) => m.offset)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(new Set(wsSeen.map((m) => (m.data as { from: string }).from))).toEqual(new Set(['ws', 'socket.io', 'http']));
    expect([...acks.map((a) => a.offset)].sort((x, y) => x - y)).toEqual(wsSeen.map((m) => m.offset));
  });
});
