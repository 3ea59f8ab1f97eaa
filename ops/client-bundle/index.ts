/**
 * Serves the browser build of `herald/client` at `/client.js`, so a plain HTML page can
 * `import { HeraldClient } from '/client.js'` without a bundler. A transport-like plugin: it only
 * claims a request path on the broker's HTTP host. An installed package serves the bundle prebuilt
 * at pack time (dist/client/browser.js, scripts/build-client-bundle.ts); from source (`npm start`
 * on a clone, no build step) it is built with esbuild, a development dependency, on the first
 * request and kept in memory. Server-side only: never imported by the client itself.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { SetupError, type Transport, type TransportHost } from '../../core/plugin.js';

export interface ClientBundleOptions {
  /** Request path (default '/client.js'). */
  path?: string;
  /** Minify the bundle (default true). */
  minify?: boolean;
}

export interface Bundle {
  readonly code: string;
  readonly etag: string;
}

/** The client entry, client/index.ts from source or index.js from dist (this file is ops/client-bundle/). */
function entryPoint(): string {
  for (const name of ['../../client/index.ts', '../../client/index.js']) {
    const file = fileURLToPath(new URL(name, import.meta.url));
    if (existsSync(file)) return file;
  }
  throw new SetupError('missing_asset', 'herald client sources not found in client/ (herald/client/serve)');
}

/** File name of the bundle prebuilt next to the compiled client (dist/client/, written by scripts/build-client-bundle.ts). */
export const PREBUILT_BUNDLE = 'browser.js';

function etagOf(code: string): string {
  return `"${createHash('sha256').update(code).digest('base64url').slice(0, 27)}"`;
}

/** The prebuilt bundle when running from dist, else a fresh esbuild build of the sources. */
export async function loadClientBundle(options: { minify?: boolean } = {}): Promise<Bundle> {
  const prebuilt = fileURLToPath(new URL(`../../client/${PREBUILT_BUNDLE}`, import.meta.url));
  if (import.meta.url.endsWith('.js') && existsSync(prebuilt)) {
    const code = readFileSync(prebuilt, 'utf8');
    return { code, etag: etagOf(code) };
  }
  return buildClientBundle(options);
}

/** Builds the ESM browser bundle (platform browser: msgpackr's browser build, no ws). */
export async function buildClientBundle(options: { minify?: boolean } = {}): Promise<Bundle> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [entryPoint()],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: options.minify ?? true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  return { code, etag: etagOf(code) };
}

class ClientBundleRoute implements Transport {
  readonly name = 'client-bundle';
  private readonly path: string;
  private readonly minify: boolean;
  private bundle: Promise<Bundle> | undefined;
  private host: TransportHost | undefined;

  constructor(options: ClientBundleOptions) {
    this.path = options.path ?? '/client.js';
    this.minify = options.minify ?? true;
  }

  attach(host: TransportHost): void {
    this.host = host;
    host.onRequest(this.path, (req, res) => this.serve(req, res));
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-length': 0 });
      res.end();
      return;
    }
    this.bundle ??= loadClientBundle({ minify: this.minify });
    this.bundle.then(
      ({ code, etag }) => {
        const headers = {
          'content-type': 'text/javascript; charset=utf-8',
          etag,
          // Revalidate every time: the bundle changes with the broker version.
          'cache-control': 'no-cache',
          // Pages served from another origin may import it (module scripts are fetched with CORS).
          'access-control-allow-origin': '*',
        };
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, headers);
          res.end();
          return;
        }
        res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(code) });
        res.end(req.method === 'HEAD' ? undefined : code);
      },
      (err: unknown) => {
        this.bundle = undefined; // try again on the next request
        this.host?.logger.error({ err }, 'building the client bundle failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('client bundle build failed');
      },
    );
  }

  async close(): Promise<void> {
    this.bundle = undefined;
  }
}

/** Serves the browser client at `/client.js` (or `options.path`). Add it to the broker's transports. */
export function clientBundle(options: ClientBundleOptions = {}): Transport {
  return new ClientBundleRoute(options);
}
