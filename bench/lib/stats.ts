/**
 * Interleaved measurement: this box is noisy (±30–50% between runs), so arms are measured in
 * alternating rounds (A B C A B C …, order rotated each round) and compared round by round; the
 * median of the per-round ratios is what gets reported, next to an A-vs-A control.
 */

/** Median; NaN values are left out, infinities (failed rounds) are kept and count as the worst. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/**
 * Runs `measure` for every arm in every round, rotating the order so no arm always goes first
 * (after an idle pause) or last. Returns each arm's values in round order.
 */
export async function interleave<K extends string>(
  arms: readonly K[], rounds: number, measure: (arm: K, round: number) => Promise<number>,
): Promise<Record<K, number[]>> {
  const out = Object.fromEntries(arms.map((a) => [a, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < arms.length; i++) {
      const arm = arms[(i + r) % arms.length]!;
      out[arm].push(await measure(arm, r));
    }
  }
  return out;
}

export interface RatioSummary {
  /** Median of the per-round ratios a[i] / b[i]. */
  median: number;
  min: number;
  max: number;
  rounds: number;
}

/**
 * Per-round ratios a[i] / b[i] (same round: measured minutes apart at most), summarized. A failed
 * round (an infinite cost, a zero rate) stays in as 0 or Infinity: it counts against its arm.
 */
export function ratio(a: readonly number[], b: readonly number[]): RatioSummary {
  const r: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) r.push(a[i]! / b[i]!);
  const kept = r.filter((x) => !Number.isNaN(x));
  return { median: median(kept), min: Math.min(...kept), max: Math.max(...kept), rounds: kept.length };
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** "0.08× (0.06–0.11)" */
export function fmtRatio(r: RatioSummary, digits = 2): string {
  if (!Number.isFinite(r.median)) return 'n/a';
  return `${r.median.toFixed(digits)}× (${r.min.toFixed(digits)}–${r.max.toFixed(digits)})`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
