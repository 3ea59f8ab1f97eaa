/**
 * Readiness (`/readyz`), as opposed to liveness (`/healthz` in the HTTP API): a node is ready to take
 * clients when it is not shutting down and, with a cluster adapter that reports its connection
 * (NATS), that connection is up. A node that is alive but not ready keeps serving the clients it
 * has; a load balancer just stops sending it new ones.
 */
import type { ClusterAdapter } from '../../core/plugin.js';
import { hasClusterStats } from './registry.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, 'ok' | string>;
}

export function readinessOf(adapter: ClusterAdapter | undefined, closing: boolean): Readiness {
  const checks: Record<string, string> = { broker: closing ? 'shutting down' : 'ok' };
  if (hasClusterStats(adapter)) checks.nats = adapter.stats().connected ? 'ok' : 'disconnected';
  return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
}
