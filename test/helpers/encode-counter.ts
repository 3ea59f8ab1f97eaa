/**
 * Counts how often publications are really encoded (the encode callback or encoder runs), per cache
 * key: "encoded once for all subscribers" means one call, where a transport that skipped the cache
 * would show one per subscriber and one that bypassed `encoded()` would show none.
 */
import { afterEach, vi } from 'vitest';
import { Publication } from '../../core/publication.js';

afterEach(() => {
  vi.restoreAllMocks();
});

export function countEncodings(): { readonly byKey: Map<string, number>; total(): number } {
  const byKey = new Map<string, number>();
  const bump = (key: string) => byKey.set(key, (byKey.get(key) ?? 0) + 1);
  const encoded = Publication.prototype.encoded;
  const encodedFor = Publication.prototype.encodedFor;
  vi.spyOn(Publication.prototype, 'encoded').mockImplementation(function (this: Publication, key, encode) {
    return encoded.call(this, key, (p) => { bump(key); return encode(p); });
  });
  vi.spyOn(Publication.prototype, 'encodedFor').mockImplementation(function (this: Publication, encoder) {
    return encodedFor.call(this, { key: encoder.key, encode: (m) => { bump(encoder.key); return encoder.encode(m); } });
  });
  return { byKey, total: () => [...byKey.values()].reduce((a, b) => a + b, 0) };
}
