/** Latency histograms (HdrHistogram, microseconds), encoded to cross process boundaries. */
import * as hdr from 'hdr-histogram-js';

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

export function encode(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Sums encoded histograms from several processes. */
export function merge(encoded: string[]): Histogram {
  const total = newHistogram();
  for (const e of encoded) total.add(hdr.decodeFromCompressedBase64(e));
  return total;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * Counts `lost` messages (expected but never received within the round) as arriving after `afterMs`:
 * a drop weighs on the arm's percentiles and maximum instead of vanishing from the histogram.
 */
export function countLost(h: Histogram, lost: number, afterMs: number): Histogram {
  if (lost > 0) h.recordValueWithCount(Math.round(afterMs * 1000), lost);
  return h;
}

/** Percentiles in milliseconds. */
export function summarize(h: Histogram): LatencySummary {
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  };
}
