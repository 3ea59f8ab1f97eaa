/** JSON answers for Herald's plain HTTP endpoints: the HTTP host's refusals, the HTTP API, refused SSE streams, ops plugins. */
import type { ServerResponse } from 'node:http';
import { type ErrorCode, toHeraldError } from './errors.js';

/** The HTTP status of each protocol error code. */
export const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  bad_request: 400,
  invalid_topic: 400,
  unauthorized: 401,
  forbidden: 403,
  too_large: 413,
  rate_limited: 429,
  limit_exceeded: 429,
  unsupported: 404,
  internal: 500,
  unavailable: 503,
};

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * `{"ok":false,"error":{code,message}}` with the code's status, or `status`, or the error's own
 * `status` (set where a code alone is too coarse, such as 415 for a wrong content type).
 */
export function sendError(res: ServerResponse, err: unknown, status?: number, headers?: Record<string, string>): void {
  const error = toHeraldError(err);
  const own = (err as { status?: unknown } | null)?.status;
  sendJson(res, status ?? (typeof own === 'number' ? own : STATUS_OF[error.code]), { ok: false, error: error.toJSON() }, headers);
}

