import { describe, expect, it } from 'vitest';
import { Admission } from '../../../core/limits/admission.js';
import { TokenBucket } from '../../../core/limits/token-bucket.js';

describe('TokenBucket', () => {
  it('gives burst tokens at once, then rate per second', () => {
    let t = 0;
    const b = new TokenBucket(10, 5, () => t);
    let taken = 0;
    while (b.take()) taken++;
    expect(taken).toBe(5);
    t += 500; // 0.5 s at 10/s: 5 more
    taken = 0;
    while (b.take()) taken++;
    expect(taken).toBe(5);
    t += 10_000; // never more than burst
    taken = 0;
    while (b.take()) taken++;
    expect(taken).toBe(5);
    expect(b.full).toBe(false);
    t += 1000;
    expect(b.full).toBe(true);
  });
});

describe('Admission', () => {
  it('caps concurrent connections per IP, independently per address, and releases once', () => {
    const a = new Admission({ connectionsPerIp: 3, connectionRate: 1000, connectionBurst: 1000, exemptLoopback: false });
    const held = [a.admit('1.1.1.1'), a.admit('1.1.1.1'), a.admit('1.1.1.1')];
    expect(held.every((h) => typeof h === 'function')).toBe(true);
    expect(a.admit('1.1.1.1')).toBe('too_many_connections');
    expect(typeof a.admit('2.2.2.2')).toBe('function');
    const release = held[0] as () => void;
    release();
    release(); // a second call must not free a second slot
    expect(a.openFrom('1.1.1.1')).toBe(2);
    expect(typeof a.admit('1.1.1.1')).toBe('function');
    expect(a.admit('1.1.1.1')).toBe('too_many_connections');
  });

  it('limits new connections per second per IP with a burst, and forgets idle addresses', () => {
    let t = 0;
    const a = new Admission({ connectionsPerIp: 1000, connectionRate: 10, connectionBurst: 20, exemptLoopback: false }, () => t);
    const results = Array.from({ length: 30 }, () => a.admit('9.9.9.9'));
    const admitted = results.filter((r) => typeof r === 'function');
    expect(admitted).toHaveLength(20);
    expect(results.filter((r) => r === 'connection_rate')).toHaveLength(10);
    expect(typeof a.admit('9.9.9.9', false)).toBe('function'); // uncharged admissions only count
    t += 1000;
    expect(Array.from({ length: 15 }, () => a.admit('9.9.9.9')).filter((r) => typeof r === 'function')).toHaveLength(10);
    for (const r of [...admitted]) (r as () => void)();
    for (let i = 0; i < 1000; i++) (a.admit(`10.0.${i >> 8}.${i & 255}`) as () => void)();
    t += 10_000;
    a.sweep();
    expect(a.size).toBe(1); // 9.9.9.9 still holds 11 connections; every idle address is gone
  });

  it('exempts loopback peers when asked (local tools, a local reverse proxy), and only them', () => {
    const a = new Admission({ connectionsPerIp: 1, connectionRate: 1, connectionBurst: 1, exemptLoopback: true });
    for (const ip of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) {
      expect([a.admit(ip), a.admit(ip), a.admit(ip)].every((r) => typeof r === 'function'), ip).toBe(true);
    }
    expect(typeof a.admit('10.0.0.1')).toBe('function');
    expect(a.admit('10.0.0.1')).toBe('too_many_connections');
    // The IPv4-mapped spelling is another key (a server sees one spelling per listener): admitted, and remembered.
    expect(typeof a.admit('::ffff:10.0.0.1', true)).toBe('function');
    expect(a.size).toBe(2); // exempt peers leave no state behind
  });
});
