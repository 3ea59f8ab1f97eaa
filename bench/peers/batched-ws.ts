/**
 * The raw batched reference: the least work a Node fan-out can do. `ws` only for the handshake and
 * inbound frames; each publication is framed once, a turn's frames for a topic are concatenated
 * once, and every subscriber socket gets that one buffer in one write per turn. No protocol
 * features (history, backpressure limits, sessions): a lower bound for Herald's CPU.
 */
import { WebSocketServer } from 'ws';
import type { Socket } from 'node:net';
import { frame, TEXT } from '../../transports/shared/websocket-frame.js';
import { msgJson, parsePeerCommand, type PeerFactory } from './types.js';

export const start: PeerFactory = async ({ host }) => {
  const rooms = new Map<string, Set<Socket>>();
  const queued = new Map<string, Buffer[]>();
  let flushScheduled = false;
  const epoch = 'batched';
  let offset = 0;

  const flush = (): void => {
    flushScheduled = false;
    for (const [topic, frames] of queued) {
      const room = rooms.get(topic);
      if (!room) continue;
      const bytes = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
      for (const socket of room) socket.write(bytes);
    }
    queued.clear();
  };

  const publish = (topic: string, data: string): void => {
    if (!rooms.get(topic)?.size) return;
    const bytes = frame(TEXT, msgJson(topic, data, ++offset, epoch));
    const list = queued.get(topic);
    if (list) list.push(bytes);
    else queued.set(topic, [bytes]);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (p) => [...p][0] ?? false });
  const { createServer } = await import('node:http');
  const http = createServer((_req, res) => res.writeHead(404).end());
  http.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const tcp = socket as Socket;
      const mine = new Set<string>();
      ws.on('message', (raw) => {
        const cmd = parsePeerCommand(raw.toString());
        if (cmd?.op === 'sub') {
          let room = rooms.get(cmd.topic);
          if (!room) rooms.set(cmd.topic, (room = new Set()));
          room.add(tcp);
          mine.add(cmd.topic);
          if (cmd.id !== undefined) ws.send(JSON.stringify({ id: cmd.id, ok: true }));
        } else if (cmd?.op === 'pub') publish(cmd.topic, cmd.data);
      });
      ws.on('error', () => undefined);
      ws.once('close', () => { for (const t of mine) rooms.get(t)?.delete(tcp); });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, host, resolve));

  return {
    port: (http.address() as { port: number }).port,
    publish,
    close: () => new Promise<void>((resolve) => {
      http.closeAllConnections();
      http.close(() => resolve());
    }),
  };
};
