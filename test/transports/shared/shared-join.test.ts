import { describe, expect, it } from 'vitest';
import { SharedJoin } from '../../../transports/shared/shared-join.js';

describe('SharedJoin', () => {
  it('joins a turn once for every connection that got the same chunks, and anew for any other list', () => {
    const join = new SharedJoin();
    const a = Buffer.from('frame a');
    const b = Buffer.from('frame b');
    const first = join.join([a, b]);
    expect(first.toString()).toBe('frame aframe b');
    // Another connection's queue: a different array holding the very same chunks.
    expect(join.join([a, b])).toBe(first);
    // Same bytes in other chunk objects, another order, one more chunk: each its own join.
    const copy = join.join([Buffer.from('frame a'), b]);
    expect(copy).not.toBe(first);
    expect(copy.toString()).toBe('frame aframe b');
    expect(join.join([b, a]).toString()).toBe('frame bframe a');
    expect(join.join([b, a, a]).toString()).toBe('frame bframe aframe a');
  });

  it('encodes text chunks (SSE events) to UTF-8 once, multi-byte characters intact', () => {
    const join = new SharedJoin();
    const e1 = 'data: {"data":"é€𝄞"}\n\n';
    const e2 = 'data: {"data":"plain"}\n\n';
    const joined = join.join([e1, e2]);
    expect(joined.equals(Buffer.from(e1 + e2, 'utf8'))).toBe(true);
    expect(join.join([e1, e2])).toBe(joined);
    const single = join.join([e1]);
    expect(single.toString('utf8')).toBe(e1);
    expect(join.join([e1])).toBe(single);
  });
});
