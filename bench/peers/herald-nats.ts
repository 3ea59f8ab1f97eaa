/**
 * A Herald node clustered over NATS (ws transport + NATS adapter, history in JetStream memory
 * storage so the disk stays out of the figures). Options: `natsUrl`, `prefix` (the cluster).
 */
import { natsAdapter } from '../../adapters/nats/index.js';
import { createBroker } from '../../core/index.js';
import { ws } from '../../transports/ws/index.js';
import type { PeerFactory } from './types.js';

export const start: PeerFactory = async ({ host, natsUrl, prefix }) => {
  const adapter = natsAdapter({ servers: String(natsUrl), prefix: String(prefix), storage: 'memory' });
  const broker = await createBroker({ port: 0, host, transports: [ws()], adapter, logger: false });
  return {
    port: broker.address()!.port,
    publish(topic, data) {
      broker.publish(topic, data).catch(() => undefined);
    },
    close: () => broker.close(),
  };
};
