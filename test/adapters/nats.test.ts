/**
 * The shared adapter conformance suite on the NATS adapter, against a real nats-server with JetStream.
 * Each node reaches the server through its own loopback TCP proxy, so the fault cases can cut one
 * node's link (its socket dies, reconnects are refused) and heal it, as a network failure would.
 */
import { afterAll, beforeAll } from 'vitest';
import { natsAdapter, type NatsAdapter } from '../../adapters/nats/index.js';
import type { ClusterAdapter } from '../../core/contracts.js';
import { startNatsServer, type NatsCluster } from '../helpers/nats-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { adapterConformance } from './conformance.js';
import { until } from '../helpers/until.js';

let nats: NatsCluster & { url: string; server: { port: number } };
const proxies = new Map<ClusterAdapter, TcpProxy>();
beforeAll(async () => { nats = await startNatsServer(); });
afterAll(async () => {
  await Promise.allSettled([...proxies.values()].map((p) => p.close()));
  await nats?.stop();
});

// Heartbeats every 200 ms; a silent node is dropped after 1500 ms. A goodbye must beat that by far.
const HEARTBEAT_MS = 200;
const NODE_TIMEOUT_MS = 1500;

let clusterSeq = 0;
adapterConformance('nats', async () => {
  // A prefix (and so a stream) per simulated cluster: tests use different history settings.
  const prefix = `conf${process.pid}c${++clusterSeq}`;
  return {
    node: async () => {
      const proxy = await startTcpProxy(nats.server.port);
      const adapter = natsAdapter({
        servers: `nats://127.0.0.1:${proxy.port}`, prefix, storage: 'memory', heartbeatMs: HEARTBEAT_MS, nodeTimeoutMs: NODE_TIMEOUT_MS,
        requestTimeoutMs: 1000, reconnectTimeWaitMs: 50, connection: { noRandomize: true, ignoreClusterUpdates: true },
      });
      proxies.set(adapter, proxy);
      return adapter;
    },
    faults: {
      async cut(adapter) {
        const proxy = proxies.get(adapter)!;
        proxy.refuse(3_600_000);
        proxy.drop();
        await until(() => !(adapter as NatsAdapter).stats().connected, 'the node notices the cut', 5000);
      },
      async heal(adapter) {
        proxies.get(adapter)!.refuse(0);
        await until(() => (adapter as NatsAdapter).stats().connected, 'the node reconnects', 10_000);
      },
    },
  };
}, { propagationMs: 2000, nodeTimeoutMs: NODE_TIMEOUT_MS, faults: true });
