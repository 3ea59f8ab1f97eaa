/** aedes (MQTT 3.1.1 broker for Node) on a TCP port, default options and in-memory persistence. */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import type { PeerFactory } from './types.js';

export const start: PeerFactory = async ({ host }) => {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    publish(topic, data) {
      aedes.publish({ cmd: 'publish', topic: topic.replaceAll('.', '/'), payload: Buffer.from(data), qos: 0, retain: false, dup: false }, () => undefined);
    },
    close: () => new Promise<void>((resolve) => { server.close(); aedes.close(() => resolve()); }),
  };
};
