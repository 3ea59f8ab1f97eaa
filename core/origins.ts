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
  /** undefined: no check; 'any': every origin, CORS for all; a set: those plus the broker's own. */
  private readonly allowed: ReadonlySet<string> | 'any' | undefined;

  /** `allowed` undefined: no check, no CORS answers (the embedder's application decides). */
  constructor(allowed: readonly string[] | '*' | undefined) {
    this.allowed = allowed === undefined ? undefined : allowed === '*' ? 'any' : new Set(allowed);
  }

  get enabled(): boolean {
    return this.allowed !== undefined;
  }

  verdict(req: IncomingMessage): OriginVerdict {
    const origin = req.headers.origin;
    if (origin === undefined) return 'no-origin';
    return this.admits(req, origin) ? 'allowed' : 'forbidden';
  }

  private admits(req: IncomingMessage, origin: string): boolean {
    if (this.allowed === undefined || this.allowed === 'any') return true;
    return this.allowed.has(origin) || sameOrigin(req, origin);
  }

  /**
   * Adds CORS headers for an admitted cross-origin page (never `*`: answers may depend on
   * credentials; with `'*'` no credentials are allowed, so a page cannot ride a visitor's cookies).
   * Returns true when it answered a preflight itself, so the caller stops there.
   *
   * Hand-written rather than the `cors` package, which answers every OPTIONS request as a preflight
   * (this one only with Access-Control-Request-Method, as Fetch defines a preflight) and knows no
   * refusal (an origin this policy forbids got 403 before this runs).
   */
  cors(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.allowed === undefined) return false;
    // On every answer, also those without CORS headers: a cache must not serve an answer made for
    // one Origin (or none) to a page of another.
    res.setHeader('vary', 'Origin');
    const origin = req.headers.origin;
    if (origin === undefined || !this.admits(req, origin)) return false;
    res.setHeader('access-control-allow-origin', origin);
    if (this.allowed !== 'any') res.setHeader('access-control-allow-credentials', 'true');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res.writeHead(204, { ...PREFLIGHT_HEADERS, 'content-length': '0' });
      res.end();
      return true;
    }
    return false;
  }
}

/**
 * A page the broker served itself (the dashboard): the Origin's host:port is the Host it asked.
 * A page elsewhere cannot forge either header, so this admits no other site; the scheme is not
 * compared because a TLS-terminating proxy hides it.
 */
function sameOrigin(req: IncomingMessage, origin: string): boolean {
  const host = req.headers.host;
  if (host === undefined) return false;
  const at = origin.indexOf('://');
  return at !== -1 && origin.slice(at + 3) === host.toLowerCase();
}
