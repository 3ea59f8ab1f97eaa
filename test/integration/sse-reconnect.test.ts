/**
 * SSE resumption with a real EventSource (the `eventsource` package): the broker kills the stream,
 * publications go on while it is down, the client reconnects with Last-Event-ID and gets exactly the
 * missed ones, for every topic of the stream.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { EventSource, type EventSourceLike } from '../helpers/eventsource.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../core/index.js';
import { sse } from '../../transports/sse/index.js';
import { until } from '../helpers/until.js';

let broker: Broker | undefined;
let server: Server | undefined;
let es: EventSourceLike | undefined;
afterEach(async () => {
  es?.close();
  await broker?.close();
  server?.closeAllConnections();
  await new Promise((r) => (server?.listening ? server.close(r) : r(undefined)));
});

describe('SSE reconnect with Last-Event-ID', () => {
  it('misses nothing and repeats nothing, for every topic, across two drops', async () => {
    server = createServer();
    const streams: Socket[] = [];
    broker = await createBroker({ server, transports: [sse({ retry: 50 })], logger: false });
    server.on('request', (req) => { if (req.url?.startsWith('/events')) streams.push(req.socket); });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;

    const topics = ['t.a', 't.b', 't.c'];
    es = new EventSource(`http://127.0.0.1:${port}/events?${topics.map((t) => `topic=${t}`).join('&')}`);
    const got: Record<string, any>[] = [];
    const ready: Record<string, unknown>[] = [];
    const resets: unknown[] = [];
    es.onmessage = (e) => got.push(JSON.parse(e.data));
    es.addEventListener('herald-ready', (e) => ready.push(JSON.parse(e.data)));
    es.addEventListener('herald-reset', (e) => resets.push(JSON.parse(e.data)));
    await until(() => ready.length === 1, 'the stream');

    let n = 0;
    const publishRound = async () => { for (const t of topics) await broker!.publish(t, ++n); };
    await publishRound();
    await publishRound();
    await until(() => got.length === 6, 'first messages');

    for (let drop = 1; drop <= 2; drop++) {
      // Kill the stream from the server side, then publish while the client is away (retry is 50 ms).
      for (const s of streams.splice(0)) s.destroy();
      await publishRound();
      await publishRound();
      await until(() => ready.length === drop + 1, `reconnect ${drop}`);
      await publishRound();
      await until(() => got.length === 6 + drop * 9, `messages after drop ${drop}`);
    }

    expect(resets).toEqual([]);
    expect(ready.slice(1)).toEqual([{ topics, recovered: true }, { topics, recovered: true }]);
    for (const t of topics) {
      const offsets = got.filter((m) => m.topic === t).map((m) => m.offset);
      expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => i + 1));
      expect(offsets).toHaveLength(8);
      const data = got.filter((m) => m.topic === t).map((m) => m.data as number);
      expect(data).toEqual([...data].sort((x, y) => x - y));
    }
    expect(new Set(got.map((m) => m.data)).size).toBe(n);
    expect(got).toHaveLength(n);
  });
});
