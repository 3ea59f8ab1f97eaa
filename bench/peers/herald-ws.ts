/** Herald itself: the standalone configuration (ws transport, memory adapter, default limits and history). */
import { createBroker, type BrokerOptions } from '../../core/index.js';
import { ws } from '../../transports/ws/index.js';
import type { PeerFactory } from './types.js';

export const start: PeerFactory = async ({ host, broker: extra }) => {
  // `broker`: extra BrokerOptions for variants (e.g. presence off), passed as JSON by the scenario.
  const broker = await createBroker({ port: 0, host, transports: [ws()], logger: false, ...(extra as Partial<BrokerOptions> | undefined) });
  return {
    port: broker.address()!.port,
    publish(topic, data) {
      broker.publish(topic, data).catch(() => undefined);
    },
    close: () => broker.close(),
  };
};
