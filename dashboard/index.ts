/**
 * `herald/dashboard`: a live page at `/` (connections per transport, topics, message rates, recent
 * publications; subscribe and publish over WebSocket, socket.io or SSE) and the stats publisher it
 * reads from. The page is plain HTML + JS talking to the broker like any client: it needs the ws,
 * socketio, sse and http transports mounted at their default paths.
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Transport, TransportHost } from '../core/contracts.js';
import { DEFAULT_STATS_TOPIC, publishStats, type StatsOptions } from './stats.js';

export interface DashboardOptions extends StatsOptions {
  /** Path of the page (default '/'). */
  path?: string;
  /** Publish stats from this node (default true). False: the page still shows what other nodes publish. */
  publishStats?: boolean;
}

/** index.html next to this file (source), or in the package's dashboard/ folder (dist/dashboard/). */
function loadPage(): string {
  for (const rel of ['./index.html', '../../dashboard/index.html']) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  throw new Error('herald dashboard: index.html not found');
}

class Dashboard implements Transport {
  readonly name = 'dashboard';
  private readonly options: DashboardOptions;
  private stop: (() => void) | undefined;

  constructor(options: DashboardOptions) {
    this.options = options;
  }

  attach(host: TransportHost): void {
    const statsTopic = this.options.topic ?? DEFAULT_STATS_TOPIC;
    // The page learns the stats topic from a meta tag, so one file serves every configuration.
    const page = loadPage().replace('{{STATS_TOPIC}}', statsTopic);
    const path = this.options.path ?? '/';
    // A path ending in '/' is a prefix claim on the host: answer the page on that path only.
    host.onRequest(path, (req, res) => {
      if ((req.url ?? '/').split('?')[0] !== path) {
        const body = JSON.stringify({ ok: false, error: { code: 'bad_request', message: 'no such path' } });
        res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
        res.end();
        return;
      }
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(page),
        'cache-control': 'no-cache',
        // Inline script and style only, connections to this origin only.
        'content-security-policy': "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:",
      });
      res.end(req.method === 'HEAD' ? undefined : page);
    });
    if (this.options.publishStats !== false) this.stop = publishStats(host.broker, this.options);
  }

  async close(): Promise<void> {
    this.stop?.();
    this.stop = undefined;
  }
}

/** The live dashboard at `/` plus the stats it shows, published on `herald.stats.<nodeId>` every second. */
export function dashboard(options: DashboardOptions = {}): Transport {
  return new Dashboard(options);
}

export { publishStats, DEFAULT_STATS_TOPIC, type StatsOptions, type StatsSnapshot } from './stats.js';
