/** The transport-neutral handshake of an HTTP request (upgrade, SSE stream, socket.io's first request). */
import type { IncomingMessage } from 'node:http';
import type { Handshake } from '../../core/plugin.js';

/** Reads the credential from `Authorization: Bearer`, else the `access_token` query parameter (RFC 6750). */
export function handshakeOf(req: IncomingMessage, transport: string, token?: string): Handshake {
  // Only the query string is parsed: a URL object would stay reachable from its searchParams for
  // the whole life of the connection.
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const query = new URLSearchParams(q === -1 ? '' : target.slice(q + 1));
  const auth = req.headers.authorization;
  const bearer = auth !== undefined && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
  return {
    transport,
    remoteAddress: req.socket?.remoteAddress ?? '',
    headers: req.headers,
    query,
    token: token || bearer || query.get('access_token') || undefined,
  };
}
