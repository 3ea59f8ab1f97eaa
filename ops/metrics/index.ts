/**
 * `herald/metrics`: Prometheus metrics at `/metrics` and readiness at `/readyz`, as a plugin that
 * claims two paths on the broker's HTTP host (like a transport, with no clients of its own).
 * Liveness (`/healthz`) stays with the HTTP API transport. docs/operations.md lists every metric.
 *
 *   createBroker({ port, transports: [ws(), metrics()] })
 */
import type { Registry } from 'prom-client';
import { SetupError, type Transport, type TransportHost } from '../../core/plugin.js';
import { readinessOf } from './readiness.js';
import { createMetricsRegistry, type MetricsRegistryOptions } from './registry.js';

export interface MetricsOptions extends MetricsRegistryOptions {
  /** Path of the Prometheus exposition (default '/metrics'). */
  path?: string;
  /** Path of the readiness check (default '/readyz'); false to leave it out. */
  readyz?: string | false;
}

export class MetricsPlugin implements Transport {
  readonly name = 'metrics';
  private readonly options: MetricsOptions;
  private closing = false;
  private registry_: Registry | undefined;

  constructor(options: MetricsOptions = {}) {
    this.options = options;
  }

  /** The broker's registry (after the broker started): add your own metrics to it. */
  get registry(): Registry {
    if (this.registry_ === undefined) throw new SetupError('not_started', 'metrics: the registry exists once the broker has started');
    return this.registry_;
  }

  attach(host: TransportHost): void {
    const adapter = host.options.adapter;
    const registry = (this.registry_ = createMetricsRegistry(host.broker, adapter, this.options));
    host.onRequest(this.options.path ?? '/metrics', (req, res) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
        res.end();
        return;
      }
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          host.logger.error({ err }, 'collecting metrics failed');
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('collecting metrics failed\n');
        },
      );
    });
    const readyz = this.options.readyz ?? '/readyz';
    if (readyz !== false) {
      host.onRequest(readyz, (req, res) => {
        const { ready, checks } = readinessOf(adapter, this.closing);
        const body = JSON.stringify({ ok: ready, node: host.broker.nodeId, checks });
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
    }
  }

  async close(): Promise<void> {
    this.closing = true;
  }
}

/** Serves `/metrics` (Prometheus, one registry per broker) and `/readyz`. Add it to the broker's transports. */
export function metrics(options: MetricsOptions = {}): MetricsPlugin {
  return new MetricsPlugin(options);
}

export { createMetricsRegistry, hasClusterStats, type ClusterStatsSource, type MetricsRegistryOptions, type MetricsSource } from './registry.js';
export { readinessOf, type Readiness } from './readiness.js';
