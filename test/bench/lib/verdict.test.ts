import { describe, expect, it } from 'vitest';
import { ratio } from '../../../bench/lib/stats.js';
import { decide, differenceTarget, ratioNoise, ratioTarget } from '../../../bench/lib/verdict.js';

const summary = (median: number, min = median, max = median) => ({ median, min, max, rounds: 3 });

describe('bench verdicts', () => {
  it('a ratio inside the A-vs-A spread around the bound is a tie; beyond it, met or missed', () => {
    const control = summary(1, 0.9, 1.05);
    // Symmetric noise: 0.9 also means 1/0.9 ≈ 1.11 the other way.
    expect(ratioNoise(control)).toEqual({ lo: 0.9, hi: 1 / 0.9 });
    expect(ratioTarget('≤ 0.1×', summary(0.08), 0.1, 'lower', control).verdict).toBe('met');
    expect(ratioTarget('≤ 0.1×', summary(0.105), 0.1, 'lower', control).verdict).toBe('tie');
    expect(ratioTarget('≤ 0.1×', summary(0.095), 0.1, 'lower', control).verdict).toBe('tie');
    expect(ratioTarget('≤ 0.1×', summary(0.12), 0.1, 'lower', control).verdict).toBe('missed');
    expect(ratioTarget('≥ 3×', summary(3.5), 3, 'higher', control).verdict).toBe('met');
    expect(ratioTarget('≥ 3×', summary(2.8), 3, 'higher', control).verdict).toBe('tie');
    expect(ratioTarget('≥ 3×', summary(2.5), 3, 'higher', control).verdict).toBe('missed');
    const t = ratioTarget('≤ 0.1×', summary(0.08, 0.07, 0.09), 0.1, 'lower', control);
    expect(t.measured).toBe('0.08× (0.07–0.09)');
    expect(t.rule).toBe('≤ 0.1×, tie 0.09–0.11× (A-vs-A 0.90–1.05×)');
  });

  it('a noisy control widens the tie: the same figure that is met beside a quiet control ties beside a noisy one', () => {
    expect(ratioTarget('', summary(1.3), 1.5, 'lower', summary(1, 0.98, 1.02)).verdict).toBe('met');
    expect(ratioTarget('', summary(1.3), 1.5, 'lower', summary(1.4, 0.7, 1.4)).verdict).toBe('tie');
  });

  it('failed rounds count against their arm: an infinite cost is kept, a non-finite median is missed', () => {
    const herald = [100, Infinity, Infinity];
    const peer = [1000, 1000, 1000];
    const r = ratio(herald, peer);
    expect(r.median).toBe(Infinity);
    expect(r.rounds).toBe(3);
    expect(ratioTarget('', r, 1, 'lower', summary(1, 0.95, 1.05)).verdict).toBe('missed');
    // The peer failing is a win for Herald, not a dropped round.
    expect(ratio(peer, [100, Infinity, Infinity]).median).toBe(0);
    expect(decide(NaN, { lo: 0, hi: 1 }, 'higher')).toBe('missed');
  });

  it('difference targets: bound ± the largest control difference', () => {
    // Control differences up to 9 ms: an added p99 of -7 ms against "< 2 ms" cannot be told from it.
    expect(differenceTarget('added p99 < 2 ms', [-7, -8, -6], 2, 'lower', [-9, 1, 3], 'ms').verdict).toBe('tie');
    expect(differenceTarget('added p99 < 2 ms', [-7, -8, -6], 2, 'lower', [-0.5, 0.5, 0.2], 'ms').verdict).toBe('met');
    const missed = differenceTarget('added p99 < 2 ms', [5, 6, 7], 2, 'lower', [-0.5, 0.5], 'ms');
    expect(missed.verdict).toBe('missed');
    expect(missed.rule).toBe('< 2 ms, tie 1.50–2.50 ms (A-vs-A ±0.50 ms)');
  });
});
