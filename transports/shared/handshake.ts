/** The transport-neutral handshake of an HTTP request (upgrade, SSE stream, socket.io's first request). */
import type { IncomingMessage } from 'node:http';
import type { Handshake } from '../../core/contracts.js';

/** Reads the credential from `Authorization: Bearer`, else the `access_token` query parameter (RFC 6750). */
export function handshakeOf(req: IncomingMessage, transport: string, token?: string): Handshake {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const auth = req.headers.authorization;
  const bearer = auth !== undefined && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
  return {
    transport,
    remoteAddress: req.socket?.remoteAddress ?? '',
    headers: req.headers,
    query: url.searchParams,
    token: token || bearer || url.searchParams.get('access_token') || undefined,
  };
}
