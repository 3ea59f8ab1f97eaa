/** Herald itself: the standalone configuration (ws transport, memory adapter, default limits and history). */
import { createBroker } from '../../core/index.js';
import { ws } from '../../transports/ws/index.js';
import type { PeerFactory } from './types.js';

export const start: PeerFactory = async ({ host }) => {
  const broker = await createBroker({ port: 0, host, transports: [ws()], logger: false });
  return {
    port: broker.address()!.port,
    publish(topic, data) {
      broker.publish(topic, data).catch(() => undefined);
    },
    close: () => broker.close(),
  };
};
