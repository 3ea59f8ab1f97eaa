/**
 * A stock socket.io server as apps write it: clients `subscribe` (ack'd) to join a room, the app
 * broadcasts with `nsp.to(room).emit('message', payload)`. Same namespace and payload as Herald's.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { SOCKETIO_NAMESPACE } from '../lib/dialects.js';
import type { PeerFactory } from './types.js';

export const start: PeerFactory = async ({ host }) => {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], serveClient: false });
  const nsp = io.of(SOCKETIO_NAMESPACE);
  let offset = 0;
  nsp.on('connection', (socket) => {
    socket.on('subscribe', (topic: unknown, ack?: (r: unknown) => void) => {
      if (typeof topic === 'string') void socket.join(topic);
      ack?.({ ok: true });
    });
    socket.on('publish', (topic: unknown, data: unknown) => {
      if (typeof topic === 'string') nsp.to(topic).emit('message', { topic, data, offset: ++offset, epoch: 'stock' });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, host, resolve));
  return {
    port: (http.address() as { port: number }).port,
    publish(topic, data) {
      nsp.to(topic).emit('message', { topic, data, offset: ++offset, epoch: 'stock' });
    },
    close: () => new Promise<void>((resolve) => { io.close(() => resolve()); }),
  };
};
