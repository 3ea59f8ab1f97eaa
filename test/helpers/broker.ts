/** Starts real brokers on port 0 for tests and closes them afterwards. */
import { afterEach } from 'vitest';
import { createBroker, type Broker, type BrokerOptions } from '../../core/index.js';
import { ws } from '../../transports/ws/index.js';
import { TestClient } from './ws-client.js';

const open: Broker[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

export interface Running {
  broker: Broker;
  port: number;
  url: string;
  /** A connected protocol v1 client. */
  client(protocol?: 'json' | 'msgpack'): Promise<TestClient>;
}

/** A broker on 127.0.0.1, port 0, with the ws transport unless `transports` is given; closed after each test. */
export async function startBroker(options: Partial<BrokerOptions> = {}): Promise<Running> {
  const broker = await createBroker({ port: 0, transports: [ws()], logger: false, ...options } as BrokerOptions);
  open.push(broker);
  const port = broker.address()!.port;
  const url = `ws://127.0.0.1:${port}/ws`;
  return { broker, port, url, client: (protocol) => TestClient.connect(url, { protocol }) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The tests' one wait-for-a-condition loop, re-exported beside startBroker that most waits follow. */
export { until } from './until.js';

