import { describe, expect, it } from 'vitest';
import { PrincipalRates } from '../../../core/limits/message-rate.js';

describe('PrincipalRates', () => {
  const limits = { principalRate: 10, principalBurst: 5, exemptLoopback: true };

  it('keys users by id across addresses, anonymous clients by address, loopback anonymous exempt', () => {
    const rates = new PrincipalRates(limits, () => 0);
    expect(rates.keyOf({ user: 'ann' }, '10.0.0.1')).toBe(rates.keyOf({ user: 'ann' }, '10.0.0.2'));
    expect(rates.keyOf({ user: null }, '10.0.0.1')).not.toBe(rates.keyOf(undefined, '10.0.0.2'));
    expect(rates.keyOf(undefined, '127.0.0.1')).toBeUndefined();
    expect(rates.keyOf({ user: 'ann' }, '127.0.0.1')).toBeDefined(); // a named user is limited everywhere
    expect(rates.keyOf({ user: '__proto__' }, '::1')).toBe('user:__proto__');
  });

  it('refuses past the burst, refills at the rate, and forgets principals whose bucket refilled', () => {
    let now = 0;
    const rates = new PrincipalRates(limits, () => now);
    const takes = Array.from({ length: 7 }, () => rates.take('user:ann'));
    expect(takes).toEqual([true, true, true, true, true, false, false]);
    now += 100; // one token at 10/s
    expect([rates.take('user:ann'), rates.take('user:ann')]).toEqual([true, false]);
    for (let i = 0; i < 5000; i++) rates.take(`ip:10.0.${i >> 8}.${i & 255}`);
    now += 10_000;
    for (let i = 0; i < 5000; i++) rates.take('user:bob'); // triggers sweeps
    expect(rates.size).toBeLessThanOrEqual(2);
  });
});
