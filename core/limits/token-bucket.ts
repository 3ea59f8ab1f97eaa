/**
 * A token bucket: `burst` tokens at most, refilled at `rate` per second. Time is read lazily on
 * take(), so an idle bucket costs nothing (no timers) and thousands of them are cheap.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly now: () => number;

  constructor(rate: number, burst: number, now: () => number = performance.now.bind(performance)) {
    this.rate = rate / 1000;
    this.burst = burst;
    this.tokens = burst;
    this.now = now;
    this.last = now();
  }

  /** Takes one token; false when the bucket is empty (the caller refuses the action). */
  take(): boolean {
    const t = this.now();
    if (t > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (t - this.last) * this.rate);
      this.last = t;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** True when the bucket is full again (nothing to remember about its owner). */
  get full(): boolean {
    const t = this.now();
    return this.tokens + (t - this.last) * this.rate >= this.burst;
  }
}
