/**
 * The ratio of two cases measured in the same interleaved rounds, taken round by round: the median
 * of the per-round ratios, with a 95 % bootstrap interval for it. Both values of a pair come from
 * the same stretch of time on this shared machine, so a slow moment weighs on both; the interval
 * says how far that median moves over rounds like these, which one ratio of medians does not. The
 * resampling uses a seeded generator: the same samples always print the same interval.
 * @module
 */
import { seededRandom } from './seeded.js';
import { median, type Samples } from './stats.js';

export interface PairedRatio {
  /** Median of the per-round ratios a/b. */
  median: number;
  /** The 2.5 % and 97.5 % points of that median over the bootstrap resamples. */
  lo: number;
  hi: number;
  /** Rounds in which both were measured. */
  n: number;
}

const RESAMPLES = 2000;
/** Fewer pairs than this make no interval. */
const MIN_PAIRS = 3;

/** Round → value for metric `name`; undefined when a round holds two values (nothing to pair). */
function byRound(s: Samples, name: string): Map<number, number> | undefined {
  const [rounds, values] = [s.rounds(name), s.values(name)];
  const map = new Map<number, number>();
  for (const [i, r] of rounds.entries()) map.set(r, values[i]!);
  return map.size === values.length ? map : undefined;
}

/** Metric `a` over metric `b`, round by round; undefined with fewer than 3 rounds holding both. */
export function pairedRatio(s: Samples, a: string, b: string): PairedRatio | undefined {
  const [as, bs] = [byRound(s, a), byRound(s, b)];
  if (!as || !bs) return undefined;
  const ratios: number[] = [];
  for (const [r, x] of as) {
    const y = bs.get(r);
    if (y !== undefined && y > 0 && Number.isFinite(x)) ratios.push(x / y);
  }
  const n = ratios.length;
  if (n < MIN_PAIRS) return undefined;
  const rand = seededRandom(0x9e3779b9);
  const medians: number[] = [];
  for (let i = 0; i < RESAMPLES; i++)
    medians.push(median(Array.from({ length: n }, () => ratios[Math.floor(rand() * n)]!)));
  medians.sort((x, y) => x - y);
  return {
    median: median(ratios),
    lo: medians[Math.floor(0.025 * RESAMPLES)]!,
    hi: medians[Math.ceil(0.975 * RESAMPLES) - 1]!,
    n,
  };
}

/** `per round 0.99 [95% 0.97–1.01, 40 rounds]`, or `per round n/a`. */
export function fmtPaired(p: PairedRatio | undefined): string {
  if (!p) return 'per round n/a';
  return `per round ${p.median.toFixed(2)} [95% ${p.lo.toFixed(2)}–${p.hi.toFixed(2)}, ${p.n} rounds]`;
}

/** `0.99 · per round 0.99 [95% …]`: the ratio of the medians, then the paired one. */
export function fmtRatios(s: Samples, a: string, b: string): string {
  const [x, y] = [s.median(a), s.median(b)];
  const ofMedians = Number.isFinite(x) && Number.isFinite(y) && y > 0 ? (x / y).toFixed(2) : 'n/a';
  return `${ofMedians} · ${fmtPaired(pairedRatio(s, a, b))}`;
}
