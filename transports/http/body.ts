/**
 * Reads a JSON request body of at most `limit` bytes. Over the limit it fails at once and keeps
 * discarding the rest of the upload, so the 413 reaches the client instead of a connection reset.
 */
import type { IncomingMessage } from 'node:http';
import { HeraldError } from '../../core/plugin.js';

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

export function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'];
  // Only JSON, and said so: a browser must then preflight a cross-site POST, so neither a plain
  // form nor a fetch without a Content-Type (sent as text/plain, no preflight) can publish.
  if (type === undefined || !JSON_TYPE.test(type)) {
    return Promise.reject(Object.assign(new HeraldError('bad_request', 'the body must be application/json'), { status: 415 }));
  }
  const tooLarge = new HeraldError('too_large', `the body exceeds ${limit} bytes`);
  if (Number(req.headers['content-length']) > limit) return Promise.reject(tooLarge);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge);
        return;
      }
      chunks.push(chunk);
    });
    req.once('error', (err) => { failed = true; reject(err); });
    req.once('end', () => {
      if (failed) return;
      if (size === 0) return reject(new HeraldError('bad_request', 'the body is empty'));
      try {
        resolve(JSON.parse(Buffer.concat(chunks, size).toString('utf8')));
      } catch {
        reject(new HeraldError('bad_request', 'the body is not valid JSON'));
      }
    });
  });
}
