/**
 * A broker node in its own process, for tests that must kill a node for real (kill -9, no goodbye):
 * `tsx test/helpers/nats-node.ts '<json NatsAdapterOptions>'`. Prints `{"port":N,"nodeId":"..."}`
 * on stdout once it listens.
 */
import { createBroker } from '../../core/index.js';
import { ws } from '../../transports/ws/index.js';
import { natsAdapter, type NatsAdapterOptions } from '../../adapters/nats/index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as NatsAdapterOptions;
const broker = await createBroker({ port: 0, host: '127.0.0.1', transports: [ws()], logger: false, adapter: natsAdapter(options) });
process.stdout.write(`${JSON.stringify({ port: broker.address()!.port, nodeId: broker.nodeId })}\n`);
process.on('SIGTERM', () => { void broker.close().then(() => process.exit(0)); });
