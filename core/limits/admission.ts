/**
 * Connection admission per client IP: how many connections one address may hold at once, and how
 * fast it may open new ones (a token bucket per address). The HTTP host asks before handing a
 * connection to any transport, so every transport is covered without code of its own.
 *
 * Memory stays bounded by the number of addresses with live connections or a recently drained
 * bucket: entries are dropped when their count is zero and their bucket has refilled (swept lazily).
 */
import { TokenBucket } from './token-bucket.js';

export interface AdmissionLimits {
  /** Concurrent connections per IP. */
  readonly connectionsPerIp: number;
  /** New connections per second per IP. */
  readonly connectionRate: number;
  /** New connections at once per IP before the rate applies. */
  readonly connectionBurst: number;
  /** Loopback peers (127.0.0.0/8, ::1) are not limited: local tools, or a local reverse proxy all clients share. */
  readonly exemptLoopback: boolean;
}

/** 127.0.0.0/8 and ::1, also IPv4-mapped: a peer on this machine. */
export function isLoopbackAddress(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

const NOTHING_TO_RELEASE = (): void => undefined;

export type Refusal = 'too_many_connections' | 'connection_rate';

interface Entry {
  open: number;
  bucket: TokenBucket | undefined;
}

/** Sweep idle entries every this many admissions. */
const SWEEP_EVERY = 4096;

export class Admission {
  private readonly limits: AdmissionLimits;
  private readonly entries = new Map<string, Entry>();
  private readonly now: (() => number) | undefined;
  private sinceSweep = 0;

  constructor(limits: AdmissionLimits, now?: () => number) {
    this.limits = limits;
    this.now = now;
  }

  /**
   * Admits one connection from `ip` (optionally charging the rate) or says why not. On success the
   * returned function must be called once when the connection ends.
   */
  admit(ip: string, chargeRate = true): (() => void) | Refusal {
    if (this.limits.exemptLoopback && isLoopbackAddress(ip)) return NOTHING_TO_RELEASE;
    if (++this.sinceSweep >= SWEEP_EVERY) this.sweep();
    let entry = this.entries.get(ip);
    if (entry === undefined) {
      entry = { open: 0, bucket: undefined };
      this.entries.set(ip, entry);
    }
    if (entry.open >= this.limits.connectionsPerIp) return 'too_many_connections';
    if (chargeRate) {
      entry.bucket ??= new TokenBucket(this.limits.connectionRate, this.limits.connectionBurst, this.now);
      if (!entry.bucket.take()) return 'connection_rate';
    }
    entry.open++;
    let released = false;
    const held = entry;
    return () => {
      if (released) return;
      released = true;
      held.open--;
    };
  }

  /** Connections currently held by `ip` (tests, metrics). */
  openFrom(ip: string): number {
    return this.entries.get(ip)?.open ?? 0;
  }

  /** Addresses remembered (tests: memory stays bounded). */
  get size(): number {
    return this.entries.size;
  }

  sweep(): void {
    this.sinceSweep = 0;
    for (const [ip, e] of this.entries) {
      if (e.open === 0 && (e.bucket === undefined || e.bucket.full)) this.entries.delete(ip);
    }
  }
}
