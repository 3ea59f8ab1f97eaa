/**
 * Reconnect delays: exponential backoff with full jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"; centrifuge-js does the same). The delay is uniform in [0, ceiling) where the
 * ceiling doubles per failed attempt up to `maxDelay`, so a thousand clients dropped at once
 * spread their retries over the whole window instead of arriving together.
 */
export interface BackoffOptions {
  /** Ceiling of the first delay in milliseconds. */
  minDelay: number;
  /** Largest ceiling in milliseconds. */
  maxDelay: number;
  /** Uniform [0, 1) source; Math.random unless a test pins it. */
  random?: () => number;
}

/** The full-jitter delay before retry number `attempt` (0-based). */
export function fullJitterDelay(attempt: number, minDelay: number, maxDelay: number, random: () => number = Math.random): number {
  // 2 ** 31 already dwarfs any sane maxDelay; capping the exponent keeps the product finite.
  const ceiling = Math.min(maxDelay, minDelay * 2 ** Math.min(Math.max(attempt, 0), 31));
  return Math.floor(random() * ceiling);
}

/** Counts failed attempts since the last success and hands out the next delay. */
export class Backoff {
  private readonly options: BackoffOptions;
  private attempt = 0;

  constructor(options: BackoffOptions) {
    if (!(options.minDelay >= 0) || !(options.maxDelay >= options.minDelay)) {
      throw new RangeError('backoff needs 0 <= minDelay <= maxDelay');
    }
    this.options = options;
  }

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  next(): number {
    const { minDelay, maxDelay, random } = this.options;
    return fullJitterDelay(this.attempt++, minDelay, maxDelay, random);
  }

  reset(): void {
    this.attempt = 0;
  }
}
