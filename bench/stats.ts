/**
 * Small statistics and formatting helpers for the benchmarks: samples grouped by metric
 * name, medians, and the `name: value` output lines. Benchmarks never assert speed; these
 * helpers only summarise what was measured.
 * @module
 */

/** Wall-clock milliseconds since an arbitrary origin (monotonic). */
export const nowMs = (): number => performance.now();

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Samples of many metrics, each a list of values in ms collected over the rounds. */
export class Samples {
  private readonly byName = new Map<string, number[]>();
  /** The round each value was measured in, in the order of `byName`'s lists (pairs cases by round). */
  private readonly roundsByName = new Map<string, number[]>();
  private round = 0;

  /** Values added from now on belong to round `r` (runRounds calls this at each round's start). */
  startRound(r: number): void {
    this.round = r;
  }

  add(name: string, value: number): void {
    let list = this.byName.get(name);
    if (!list) {
      list = [];
      this.byName.set(name, list);
      this.roundsByName.set(name, []);
    }
    list.push(value);
    this.roundsByName.get(name)!.push(this.round);
  }

  /** The round of each of `values(name)`. */
  rounds(name: string): readonly number[] {
    return this.roundsByName.get(name) ?? [];
  }

  addAll(values: Record<string, number>): void {
    for (const [k, v] of Object.entries(values)) this.add(k, v);
  }

  values(name: string): readonly number[] {
    return this.byName.get(name) ?? [];
  }

  median(name: string): number {
    return median(this.values(name));
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}

/** Milliseconds with one decimal (or `n/a`). */
export function fmtMs(x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : 'n/a';
}

/** A ratio with two decimals (or `n/a` when either side is missing). */
export function fmtRatio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : 'n/a';
}

/** True for a metric of CPU seconds (` CPU s ` in its name), printed with three decimals. */
const isCpu = (name: string): boolean => / CPU s\b/.test(name);

/** One value of metric `name` as printed: CPU seconds with three decimals, else {@link fmtMs}. */
export function fmtValue(name: string, x: number): string {
  return isCpu(name) ? (Number.isFinite(x) ? x.toFixed(3) : 'n/a') : fmtMs(x);
}

/** `NAME ms: median` (`NAME: median` for CPU seconds and MB), a metric's stdout line. */
export function metricLine(name: string, s: Samples): string {
  const unit = isCpu(name) || / MB$/.test(name) ? '' : ' ms';
  return `${name}${unit}: ${fmtValue(name, s.median(name))}`;
}

/** `  NAME: min … median … max … (n=…)`, the spread of one metric's samples (a stderr line). */
export function spreadLine(name: string, s: Samples): string {
  const v = s.values(name);
  const f = (x: number): string => fmtValue(name, x);
  const spread = `min ${f(Math.min(...v))} median ${f(s.median(name))} max ${f(Math.max(...v))}`;
  return `  ${name}: ${spread} (n=${v.length})\n`;
}

/** Parses a Jupyter ISO date (microsecond precision) into epoch milliseconds with the fraction kept. */
export function isoToEpochMs(iso: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$/.exec(iso);
  if (!m) return Date.parse(iso);
  const whole = Date.parse(`${m[1]}${m[3] ?? 'Z'}`);
  return whole + (m[2] ? Number(m[2]) * 1000 : 0);
}
