/**
 * How the bench measures: a case is run once per round, every round in an order rotated by one
 * (interleaved, so a noisy neighbour on this shared machine hits every case alike), the warm-up
 * rounds uncounted; a failed case is reported once and the rounds go on. Also the
 * `BENCH_ONLY=system` run, the whole-system cases alone in rounds of their own.
 * @module
 */
import { metricLine, nowMs, Samples, spreadLine } from './stats.js';
import { reportSystem, type SystemBench } from './system.js';

/** One thing measured once per round; returns named wall times in ms. */
export interface BenchCase {
  name: string;
  run: () => Promise<Record<string, number>>;
}

/** Runs the rounds; returns the metric names in case order (for a stable report). */
export async function runRounds(
  cases: BenchCase[],
  rounds: number,
  warmup: number,
  samples: Samples,
  failures: Map<string, string>,
  signal: AbortSignal,
): Promise<string[]> {
  const metrics = new Map<string, Set<string>>(cases.map((c) => [c.name, new Set<string>()]));
  for (let r = 0; r < warmup + rounds; r++) {
    const t = nowMs();
    const counted = r >= warmup;
    samples.startRound(r);
    const shift = r % cases.length;
    for (const c of [...cases.slice(shift), ...cases.slice(0, shift)]) {
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
    process.stderr.write(`bench: ${label} done in ${((nowMs() - t) / 1000).toFixed(1)} s\n`);
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
