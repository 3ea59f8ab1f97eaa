/** Herald with its socket.io transport only (engine.io WebSocket transport, namespace /herald). */
import { createBroker } from '../../core/index.js';
import { socketio } from '../../transports/socketio/index.js';
import type { PeerFactory } from './types.js';

export const start: PeerFactory = async ({ host }) => {
  const broker = await createBroker({ port: 0, host, transports: [socketio({ transports: ['websocket'], serveClient: false })], logger: false });
  return {
    port: broker.address()!.port,
    publish(topic, data) {
      broker.publish(topic, data).catch(() => undefined);
    },
    close: () => broker.close(),
  };
};
