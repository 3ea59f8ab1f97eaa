/**
 * Hand-written SSE servers, the baselines of the SSE scenario (same `data:` JSON as Herald's events,
 * no ids, no history). `per-event`: one `res.write` per event per client, as most apps write it.
 * `single-chunk`: a turn's events joined once per topic and written in one `res.write` per client
 * per turn, the floor for SSE over node:http.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { PeerFactory } from './types.js';
import { msgJson } from './types.js';

export function sseServer(mode: 'per-event' | 'single-chunk'): PeerFactory {
  return async ({ host }) => {
    const rooms = new Map<string, Set<ServerResponse>>();
    const queued = new Map<string, string[]>();
    let flushScheduled = false;
    let offset = 0;
    const http = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const topic = url.searchParams.get('topic');
      if (url.pathname !== '/events' || !topic) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.write('retry: 2000\n\nevent: herald-ready\ndata: {}\n\n');
      let room = rooms.get(topic);
      if (!room) rooms.set(topic, (room = new Set()));
      room.add(res);
      res.once('close', () => room!.delete(res));
    });
    const flush = (): void => {
      flushScheduled = false;
      for (const [topic, events] of queued) {
        const chunk = events.join('');
        for (const res of rooms.get(topic) ?? []) res.write(chunk);
      }
      queued.clear();
    };
    const publish = (topic: string, data: string): void => {
      const room = rooms.get(topic);
      if (!room?.size) return;
      const event = `data: ${msgJson(topic, data, ++offset, 'sse')}\n\n`;
      if (mode === 'per-event') {
        for (const res of room) res.write(event);
        return;
      }
      const list = queued.get(topic);
      if (list) list.push(event);
      else queued.set(topic, [event]);
      if (!flushScheduled) { flushScheduled = true; setImmediate(flush); }
    };
    await new Promise<void>((resolve) => http.listen(0, host, resolve));
    return {
      port: (http.address() as { port: number }).port,
      publish,
      close: () => new Promise<void>((resolve) => { http.closeAllConnections(); http.close(() => resolve()); }),
    };
  };
}
