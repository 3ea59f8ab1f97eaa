/** The shared adapter conformance suite on the NATS adapter, against a real nats-server with JetStream. */
import { afterAll, beforeAll } from 'vitest';
import { natsAdapter } from '../../adapters/nats/index.js';
import { startNatsServer, type NatsCluster } from '../helpers/nats-server.js';
import { adapterConformance } from './conformance.js';

let nats: NatsCluster & { url: string };
beforeAll(async () => { nats = await startNatsServer(); });
afterAll(async () => { await nats?.stop(); });

let clusterSeq = 0;
adapterConformance('nats', async () => {
  // A prefix (and so a stream) per simulated cluster: tests use different history settings.
  const prefix = `conf${process.pid}c${++clusterSeq}`;
  return {
    node: () => natsAdapter({ servers: nats.url, prefix, storage: 'memory', heartbeatMs: 200, requestTimeoutMs: 1000 }),
  };
}, { propagationMs: 2000 });
