/**
 * A Herald node clustered over NATS (ws transport + NATS adapter, history in JetStream memory
 * storage so the disk stays out of the figures). Options: `natsUrl`, `prefix` (the cluster). The
 * per-connection command rate is raised so that one publisher connection can saturate the path.
 */
import { natsAdapter } from '../../adapters/nats/index.js';
import { createBroker } from '../../core/index.js';
import { ws } from '../../transports/ws/index.js';
import type { PeerFactory } from './types.js';

export const start: PeerFactory = async ({ host, natsUrl, prefix }) => {
  const adapter = natsAdapter({ servers: String(natsUrl), prefix: String(prefix), storage: 'memory' });
  // The saturation publisher is one connection sending as fast as it is answered: the per-connection
  // command rate limit (1,000/s by default) would measure the limit, not the path.
  const broker = await createBroker({ port: 0, host, transports: [ws()], adapter, logger: false, limits: { messageRate: 1_000_000, messageBurst: 1_000_000 } });
  return {
    port: broker.address()!.port,
    publish(topic, data) {
      broker.publish(topic, data).catch(() => undefined);
    },
    close: () => broker.close(),
  };
};
