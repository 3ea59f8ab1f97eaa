import { describe, expect, it } from 'vitest';
import { Backoff, fullJitterDelay } from '../../client/backoff.js';

describe('full-jitter backoff', () => {
  it('draws each delay uniformly below a ceiling that doubles up to maxDelay', () => {
    expect([0, 1, 2, 3, 4, 5].map((a) => fullJitterDelay(a, 100, 1000, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(fullJitterDelay(3, 100, 1000, () => 0)).toBe(0);
    expect(fullJitterDelay(1e6, 100, 1000, () => 0.5)).toBe(500); // no overflow on huge attempt counts
  });

  it('counts attempts until reset', () => {
    const b = new Backoff({ minDelay: 10, maxDelay: 80, random: () => 0.999999 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([9, 19, 39, 79, 79]);
    expect(b.attempts).toBe(5);
    b.reset();
    expect(b.next()).toBe(9);
  });

  it('spreads delays over the whole window with Math.random', () => {
    const delays = Array.from({ length: 10_000 }, () => fullJitterDelay(0, 1000, 1000));
    const tenths = new Array<number>(10).fill(0);
    for (const d of delays) tenths[Math.floor(d / 100)]!++;
    for (const n of tenths) expect(n).toBeGreaterThan(800);
  });

  it('refuses bounds that make no sense', () => {
    expect(() => new Backoff({ minDelay: 100, maxDelay: 10 })).toThrow(RangeError);
  });
});
