/**
 * API keys for back ends calling the HTTP publish API (HERALD_API_KEY). Compared in constant time:
 * both sides are hashed to 32 bytes first, so neither the content nor the length of a key leaks
 * through timingSafeEqual's timing (it throws on unequal lengths, and a length check would leak).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors.js';

export type ApiKeyCheck = (presented: string | undefined) => boolean;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** A checker for a list of keys (empty list: nothing matches). Keys shorter than 16 characters are refused. */
export function apiKeyChecker(keys: readonly string[]): ApiKeyCheck {
  for (const k of keys) if (k.length < 16) throw new ConfigError([{ path: 'apiKeys', message: 'an API key must be at least 16 characters' }], 'invalid API keys');
  const digests = keys.map(digest);
  return (presented) => {
    if (typeof presented !== 'string' || presented.length === 0 || digests.length === 0) return false;
    const d = digest(presented);
    let ok = false;
    // Compare with every key (no early exit), so which key matched does not show either.
    for (const k of digests) ok = timingSafeEqual(d, k) || ok;
    return ok;
  };
}

/** The credential of an HTTP request: `Authorization: Bearer <x>` (RFC 6750), else `access_token` in the query. */
export function bearerOf(authorization: string | undefined, query?: URLSearchParams): string | undefined {
  if (authorization !== undefined && /^bearer /i.test(authorization)) {
    const token = authorization.slice(7).trim();
    if (token !== '') return token;
  }
  return query?.get('access_token') || undefined;
}
