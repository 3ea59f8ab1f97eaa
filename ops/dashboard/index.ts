/**
 * `herald/dashboard`: the admin page at `/` (charts over time per node, topic browser, connection
 * list with disconnect / unsubscribe, cluster nodes, recent publications, a publish/subscribe
 * console over WebSocket, socket.io or SSE) and the stats publisher it reads from. The page is
 * plain HTML + JS talking to the broker like any client (it needs the ws, socketio, sse and http
 * transports at their default paths); its actions call the HTTP API's control routes with the
 * admin token a visitor signs in with. uPlot (charts) is served from the npm package, no CDN.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { HeraldError, sendError, SetupError, type Transport, type TransportHost } from '../../core/plugin.js';
import { DEFAULT_STATS_TOPIC, publishStats, type StatsOptions } from './stats.js';

export interface DashboardOptions extends StatsOptions {
  /** Path of the page (default '/'). */
  path?: string;
  /** Publish stats from this node (default true). False: the page still shows what other nodes publish. */
  publishStats?: boolean;
}

/**
 * The page itself, dashboard/index.html: browser code beside the plugin that serves it, as client/ is
 * beside ops/client-bundle. Found from the source (ops/dashboard/) and from dist/ops/dashboard/.
 */
function loadPage(): string {
  for (const rel of ['../../dashboard/index.html', '../../../dashboard/index.html']) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  throw new SetupError('missing_asset', 'herald dashboard: index.html not found');
}

/** Files the page loads, under `<path>dashboard/`: uPlot's browser build and style sheet. */
const ASSETS: Record<string, { module: string; type: string }> = {
  'uplot.js': { module: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'uplot.css': { module: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

function loadAssets(): Map<string, { body: Buffer; type: string }> {
  const require = createRequire(import.meta.url);
  return new Map(Object.entries(ASSETS).map(([name, { module, type }]) => [name, { body: readFileSync(require.resolve(module)), type }]));
}

function sendAsset(res: ServerResponse, asset: { body: Buffer; type: string }, head: boolean): void {
  res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': 'public, max-age=86400' });
  res.end(head ? undefined : asset.body);
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
    const path = this.options.path ?? '/';
    const assetBase = `${path.endsWith('/') ? path : `${path}/`}dashboard/`;
    const page = loadPage().replace('{{STATS_TOPIC}}', statsTopic).replaceAll('{{ASSETS}}', assetBase);
    const assets = loadAssets();
    for (const [name, asset] of assets) {
      host.onRequest(`${assetBase}${name}`, (req, res) => sendAsset(res, asset, req.method === 'HEAD'));
    }
    // A path ending in '/' is a prefix claim on the host: answer the page on that path only.
    host.onRequest(path, (req, res) => {
      if ((req.url ?? '/').split('?')[0] !== path) {
        sendError(res, new HeraldError('bad_request', 'no such path'), 404);
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
        // Inline and own scripts and styles only, connections to this origin only; no icon request (data:).
        'content-security-policy': "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:",
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

/** The admin dashboard at `/` plus the stats it shows, published on `herald.stats.<nodeId>` every second. */
export function dashboard(options: DashboardOptions = {}): Transport {
  return new Dashboard(options);
}

export { publishStats, DEFAULT_STATS_TOPIC, type ConnectionSummary, type StatsOptions, type StatsSnapshot } from './stats.js';
