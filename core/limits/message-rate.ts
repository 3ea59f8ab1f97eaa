/**
 * The message rate per principal (limits.principalRate / principalBurst): one token bucket per
 * user shared by all of that user's connections on every transport and by its HTTP API requests,
 * so opening more connections buys no more throughput. Anonymous clients are charged per client IP
 * (loopback exempt with limits.exemptLoopback, as for the connection limits).
 *
 * Keys come from client input (user ids, addresses): the map has no prototype, and buckets that
 * refilled are swept, so memory stays bounded by the principals active within a burst's refill time.
 */
import type { Principal } from '../contracts.js';
import { isLoopbackAddress } from './admission.js';
import { TokenBucket } from './token-bucket.js';

export interface PrincipalRateLimits {
  readonly principalRate: number;
  readonly principalBurst: number;
  readonly exemptLoopback: boolean;
}

/** Sweep refilled buckets every this many charges. */
const SWEEP_EVERY = 4096;

export class PrincipalRates {
  private readonly limits: PrincipalRateLimits;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly now: (() => number) | undefined;
  private sinceSweep = 0;

  constructor(limits: PrincipalRateLimits, now?: () => number) {
    this.limits = limits;
    this.now = now;
  }

  /** Whom a command is charged to; undefined: not limited (anonymous on loopback with exemptLoopback). */
  keyOf(principal: Principal | undefined, remoteAddress: string): string | undefined {
    const user = principal?.user;
    if (typeof user === 'string') return `user:${user}`;
    if (this.limits.exemptLoopback && isLoopbackAddress(remoteAddress)) return undefined;
    return `ip:${remoteAddress}`;
  }

  /** Charges one command to `key`; false when its principal is over the rate. */
  take(key: string | undefined): boolean {
    if (key === undefined) return true;
    if (++this.sinceSweep >= SWEEP_EVERY) this.sweep();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.limits.principalRate, this.limits.principalBurst, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket.take();
  }

  /** Principals with a bucket (tests). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(): void {
    this.sinceSweep = 0;
    for (const [key, bucket] of this.buckets) if (bucket.full) this.buckets.delete(key);
  }
}
