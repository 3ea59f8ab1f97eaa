/** Herald with its SSE transport only (GET /events?topic=…). */
import { createBroker } from '../../core/index.js';
import { sse } from '../../transports/sse/index.js';
import type { PeerFactory } from './types.js';

export const start: PeerFactory = async ({ host }) => {
  const broker = await createBroker({ port: 0, host, transports: [sse()], logger: false });
  return {
    port: broker.address()!.port,
    publish(topic, data) {
      broker.publish(topic, data).catch(() => undefined);
    },
    close: () => broker.close(),
  };
};
