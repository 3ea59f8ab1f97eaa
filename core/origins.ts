/**
 * Browser origin policy (docs/security.md): which web pages may open a connection to Herald or read
 * its HTTP answers. Enforced once, in the HTTP host, before any transport sees the request, so every
 * transport (WebSocket, socket.io, SSE, HTTP API) gets the same rule.
 *
 * The Origin header is compared exactly with the configured list: no suffix, substring or
 * case-insensitive matching, because every such shortcut has let a look-alike host in somewhere
 * (`app.example.com.evil.io`, `evil-example.com`). Browsers always send Origin on WebSocket upgrades
 * and cross-origin requests, so a request without one is a non-browser client (or a same-origin
 * GET) and is let through: it cannot carry a victim's ambient credentials across sites.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** `scheme://host[:port]` in the form browsers send (lower case, default port dropped), or undefined. */
export function normaliseOrigin(value: string): string | undefined {
  if (value === 'null') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || (url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') return undefined;
  // URL#pathname is '/' for 'https://a.b' too; refuse an explicit path other than a bare slash.
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*\/./i.test(value)) return undefined;
  return url.origin;
}

export type OriginVerdict = 'no-origin' | 'allowed' | 'forbidden';

/** Headers a preflight answer carries besides the origin: what Herald's HTTP paths accept. */
const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, last-event-id',
  'access-control-max-age': '600',
};

export class OriginPolicy {
  private readonly allowed: ReadonlySet<string> | undefined;

  /** `allowed` undefined: no check, no CORS answers (the embedder's application decides). */
  constructor(allowed: readonly string[] | undefined) {
    this.allowed = allowed === undefined ? undefined : new Set(allowed);
  }

  get enabled(): boolean {
    return this.allowed !== undefined;
  }

  verdict(req: IncomingMessage): OriginVerdict {
    const origin = req.headers.origin;
    if (origin === undefined) return 'no-origin';
    if (this.allowed === undefined) return 'allowed';
    return this.allowed.has(origin) ? 'allowed' : 'forbidden';
  }

  /**
   * Adds CORS headers for a listed origin (never `*`: answers may depend on credentials). Returns
   * true when it answered a preflight itself, so the caller stops there.
   */
  cors(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (this.allowed === undefined || origin === undefined || !this.allowed.has(origin)) return false;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('vary', 'Origin');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res.writeHead(204, { ...PREFLIGHT_HEADERS, 'content-length': '0' });
      res.end();
      return true;
    }
    return false;
  }
}
