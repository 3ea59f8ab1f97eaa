/**
 * Reads a JSON request body of at most `limit` bytes, with raw-body (the body reader of Express and
 * body-parser): a Content-Length over the limit fails before reading, a stream past it fails at the
 * byte that crosses it. Either way the rest of the upload is drained, so the 413 reaches the client
 * instead of a connection reset.
 */
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { HeraldError } from '../../core/plugin.js';

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'];
  // Only JSON, and said so: a browser must then preflight a cross-site POST, so neither a plain
  // form nor a fetch without a Content-Type (sent as text/plain, no preflight) can publish.
  if (type === undefined || !JSON_TYPE.test(type)) {
    throw Object.assign(new HeraldError('bad_request', 'the body must be application/json'), { status: 415 });
  }
  let body: Buffer;
  try {
    body = await getRawBody(req, { limit, length: req.headers['content-length'] });
  } catch (err) {
    // raw-body stops reading (pauses the request) on an error: drop the rest of the upload instead.
    req.resume();
    const why = (err as { type?: string }).type;
    if (why === 'entity.too.large') throw new HeraldError('too_large', `the body exceeds ${limit} bytes`);
    if (why === 'request.size.invalid') throw new HeraldError('bad_request', 'the body does not match its Content-Length');
    throw err;
  }
  if (body.length === 0) throw new HeraldError('bad_request', 'the body is empty');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HeraldError('bad_request', 'the body is not valid JSON');
  }
}
