/**
 * Verdicts on benchmark targets, decided against the noise of the same run. Every scenario states a
 * target as a bound on a per-round ratio (Herald ÷ peer, or a difference in ms), and runs an A-vs-A
 * control: a second identical Herald arm. The control's per-round spread is how far two identical
 * servers drift apart here, so a measured median that lands within that spread of the bound cannot be
 * told from it: a tie. Only a median beyond the band on either side is `met` or `missed`.
 *
 *   ratio target "≤ B":      band = [B × lo, B × hi], lo/hi = the control's min/max, made symmetric
 *                            around 1 (A ÷ A' and A' ÷ A are the same noise)
 *   difference target "< D": band = [D + lo, D + hi], lo/hi = the control's min/max difference,
 *                            made symmetric around 0
 *
 * A round that failed (drops, a timeout) carries an infinite cost or a zero rate, so it counts
 * against its arm through the median instead of disappearing; a median that is not finite is missed.
 */
import { median, round, type RatioSummary } from './stats.js';

export type Verdict = 'met' | 'tie' | 'missed';

export interface Target {
  description: string;
  /** The measured median and its range, as shown. */
  measured: string;
  verdict: Verdict;
  /** The bound and the tie band it was judged against, as shown: "≤ 0.1×, tie 0.09–0.11×". */
  rule: string;
}

export type Better = 'lower' | 'higher';

interface Band { lo: number; hi: number }

/** The control's spread as a factor band around 1 (symmetric: A ÷ A' and A' ÷ A are the same noise). */
export function ratioNoise(control: RatioSummary): Band {
  const finite = [control.min, control.max].filter((x) => Number.isFinite(x) && x > 0);
  if (finite.length === 0) return { lo: 1, hi: 1 };
  const lo = Math.min(1, ...finite, ...finite.map((x) => 1 / x));
  const hi = Math.max(1, ...finite, ...finite.map((x) => 1 / x));
  return { lo, hi };
}

/** The control's spread as an additive band around 0 (symmetric). */
export function differenceNoise(controlDiffs: readonly number[]): Band {
  const finite = controlDiffs.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return { lo: 0, hi: 0 };
  const width = Math.max(...finite.map((x) => Math.abs(x)));
  return { lo: -width, hi: width };
}

/** met / tie / missed for `measured` against `bound` with the tie band [lo, hi] around it. */
export function decide(measured: number, band: Band, better: Better): Verdict {
  if (!Number.isFinite(measured)) return 'missed';
  if (better === 'lower') return measured < band.lo ? 'met' : measured > band.hi ? 'missed' : 'tie';
  return measured > band.hi ? 'met' : measured < band.lo ? 'missed' : 'tie';
}

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/**
 * A ratio target: `ratio` (per-round arm ÷ peer) must be `better` than `bound`, judged against the
 * A-vs-A `control` ratio of the same rows.
 */
export function ratioTarget(description: string, ratio: RatioSummary, bound: number, better: Better, control: RatioSummary, digits = 2): Target {
  const noise = ratioNoise(control);
  const band = { lo: bound * noise.lo, hi: bound * noise.hi };
  return {
    description,
    measured: Number.isFinite(ratio.median) ? `${fmt(ratio.median, digits)}× (${fmt(ratio.min, digits)}–${fmt(ratio.max, digits)})` : `${ratio.median} (failed rounds)`,
    verdict: decide(ratio.median, band, better),
    rule: `${better === 'lower' ? '≤' : '≥'} ${bound}×, tie ${fmt(band.lo, digits)}–${fmt(band.hi, digits)}× (A-vs-A ${fmt(control.min, digits)}–${fmt(control.max, digits)}×)`,
  };
}

/**
 * A difference target in `unit`: the median of per-round differences `diffs` (arm − peer) must be
 * `better` than `bound`, judged against the control's per-round differences (control − peer).
 */
export function differenceTarget(description: string, diffs: readonly number[], bound: number, better: Better, controlDiffs: readonly number[], unit: string): Target {
  const m = median(diffs);
  const noise = differenceNoise(controlDiffs);
  const band = { lo: bound + noise.lo, hi: bound + noise.hi };
  const finite = diffs.filter((x) => Number.isFinite(x));
  return {
    description,
    measured: `${fmt(round(m, 2), 2)} ${unit} (${fmt(Math.min(...finite), 2)}–${fmt(Math.max(...finite), 2)})`,
    verdict: decide(m, band, better),
    rule: `${better === 'lower' ? '<' : '>'} ${bound} ${unit}, tie ${fmt(band.lo, 2)}–${fmt(band.hi, 2)} ${unit} (A-vs-A ±${fmt(noise.hi, 2)} ${unit})`,
  };
}

/** How a verdict reads in the console and in latest.md. */
export const VERDICT_LABEL: Record<Verdict, string> = { met: 'met', tie: 'tie', missed: '**missed**' };
