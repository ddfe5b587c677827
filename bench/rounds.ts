/**
 * How the bench measures: a case is run once per round, every round in its own seeded shuffle
 * (interleaved, so a noisy neighbour on this shared machine hits every case alike, and no case
 * always follows the same one: bench/seeded.ts), each case started on quiet CPUs (bench/settle.ts),
 * the warm-up rounds uncounted; a failed case is reported once and the rounds go on. Also the
 * `BENCH_ONLY=system` run, the whole-system cases alone in rounds of their own.
 * @module
 */
import { roundOrder } from './seeded.js';
import { settle, type Settled } from './settle.js';
import { metricLine, nowMs, Samples, spreadLine } from './stats.js';
import { reportSystem, type SystemBench } from './system.js';

/** One thing measured once per round; returns named wall times in ms. */
export interface BenchCase {
  name: string;
  run: () => Promise<Record<string, number>>;
}

/** `BENCH_SEED`: the seed of the rounds' case orders (default 1). */
export function benchSeed(): number {
  const seed = Number(process.env.BENCH_SEED ?? 1);
  if (!Number.isInteger(seed)) throw new Error(`BENCH_SEED must be an integer, not ${process.env.BENCH_SEED}`);
  return seed;
}

export interface RoundOptions {
  /** The seed of each round's case order (default: benchSeed()). */
  seed?: number;
  /** Waits before each case (default: bench/settle.ts on this machine's CPUs). */
  settle?: () => Promise<Settled>;
}

/** Runs the rounds; returns the metric names in case order (for a stable report). */
export async function runRounds(
  cases: BenchCase[],
  rounds: number,
  warmup: number,
  samples: Samples,
  failures: Map<string, string>,
  signal: AbortSignal,
  opts: RoundOptions = {},
): Promise<string[]> {
  const seed = opts.seed ?? benchSeed();
  const quiet = opts.settle ?? (() => settle());
  const metrics = new Map<string, Set<string>>(cases.map((c) => [c.name, new Set<string>()]));
  for (let r = 0; r < warmup + rounds; r++) {
    const t = nowMs();
    const counted = r >= warmup;
    samples.startRound(r);
    let [waitedMs, busy] = [0, 0];
    for (const c of roundOrder(cases, seed, r)) {
      if (signal.aborted) throw new Error('interrupted');
      const settled = await quiet();
      waitedMs += settled.waitedMs;
      if (!settled.quiet) busy++;
      if (signal.aborted) throw new Error('interrupted');
      try {
        const values = await c.run();
        if (counted) samples.addAll(values);
        for (const k of Object.keys(values)) metrics.get(c.name)!.add(k);
      } catch (e) {
        if (signal.aborted) throw new Error('interrupted');
        if (!failures.has(c.name)) failures.set(c.name, e instanceof Error ? e.message : String(e));
        process.stderr.write(`  ${c.name}: FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
    const label = counted ? `round ${r - warmup + 1}/${rounds}` : `warm-up ${r + 1}/${warmup}`;
    const waited = `${(waitedMs / 1000).toFixed(1)} s of it waiting for quiet CPUs, ${busy} cases started busy`;
    process.stderr.write(`bench: ${label} done in ${((nowMs() - t) / 1000).toFixed(1)} s (${waited})\n`);
  }
  return [...metrics.values()].flatMap((set) => [...set]).filter((name) => samples.values(name).length > 0);
}

/** `BENCH_ONLY=system`: the system cases alone, in their own interleaved rounds. */
export async function runSystemOnly(
  system: SystemBench,
  labels: string[],
  rounds: number,
  warmup: number,
  signal: AbortSignal,
): Promise<number> {
  const samples = new Samples();
  const failures = new Map<string, string>();
  const names = await runRounds(system.cases, rounds, warmup, samples, failures, signal);
  const out = [`rounds: ${rounds}`, ...names.map((n) => metricLine(n, samples))];
  for (const n of names) process.stderr.write(spreadLine(n, samples));
  out.push(...reportSystem(samples, labels, system.other), await system.isolation());
  for (const [name, msg] of failures) out.push(`failed ${name}: ${msg}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return failures.size > 0 ? 1 : 0;
}
