/** What most apps write first: a `ws` server and `for (const client of room) client.send(json)`. */
import { WebSocketServer, type WebSocket } from 'ws';
import { msgJson, parsePeerCommand, type PeerFactory } from './types.js';

export const start: PeerFactory = async ({ host }) => {
  const rooms = new Map<string, Set<WebSocket>>();
  const epoch = 'naive';
  let offset = 0;
  const wss = new WebSocketServer({ host, port: 0, path: '/ws', perMessageDeflate: false, handleProtocols: (p) => [...p][0] ?? false });
  await new Promise<void>((resolve) => wss.once('listening', resolve));

  const broadcast = (topic: string, data: string): void => {
    const room = rooms.get(topic);
    if (!room) return;
    const text = msgJson(topic, data, ++offset, epoch);
    for (const client of room) client.send(text);
  };

  wss.on('connection', (socket) => {
    const mine = new Set<string>();
    socket.on('message', (raw) => {
      const cmd = parsePeerCommand(raw.toString());
      if (cmd?.op === 'sub') {
        let room = rooms.get(cmd.topic);
        if (!room) rooms.set(cmd.topic, (room = new Set()));
        room.add(socket);
        mine.add(cmd.topic);
        if (cmd.id !== undefined) socket.send(JSON.stringify({ id: cmd.id, ok: true }));
      } else if (cmd?.op === 'pub') broadcast(cmd.topic, cmd.data);
    });
    socket.on('error', () => undefined);
    socket.once('close', () => { for (const t of mine) rooms.get(t)?.delete(socket); });
  });

  return {
    port: (wss.address() as { port: number }).port,
    publish: broadcast,
    close: () => new Promise<void>((resolve) => {
      for (const room of rooms.values()) for (const c of room) c.terminate();
      wss.close(() => resolve());
    }),
  };
};
