/** Herald with its MQTT transport on a TCP port (memory adapter, default limits and history); `port` is the MQTT port. */
import { createBroker } from '../../core/index.js';
import { mqtt } from '../../transports/mqtt/index.js';
import type { PeerFactory } from './types.js';

export const start: PeerFactory = async ({ host }) => {
  const transport = mqtt({ port: 0, host, path: false });
  const broker = await createBroker({ port: 0, host, transports: [transport], logger: false });
  return {
    port: transport.port,
    publish(topic, data) {
      broker.publish(topic, data).catch(() => undefined);
    },
    close: () => broker.close(),
  };
};
