/**
 * Concurrency and memory (docs/benchmarks.md), through one functions-framework process against one
 * Jupyter server: after a warm-up run, one run alone, then N (20) runs at once (total wall time,
 * peak RSS and its growth, with VmHWM reset before each, so the process's start is not what is
 * read); and, in a
 * fresh process, a cell printing ≈50 MB (50 × 1 MB flushed chunks) against the per-cell output
 * cap (default 16 Mi characters): the process's peak RSS during that run (the kernel's peak,
 * `VmHWM`, reset just before it) and its growth over the RSS it had after a trivial run; then a
 * trivial run's own growth, measured the same way, as a control.
 * @module
 */
import { PROJECT_ROOT } from '../cli/project-root.js';
import { DEFAULT_LIMITS } from '../functions/run/runner.js';
import type { BenchServer } from './contenders.js';
import { startFunctionProcess } from './function-process.js';
import type { BenchNotebook } from './notebooks.js';
import { nowMs } from './stats.js';

/** The output cap in MB (characters of ASCII text are bytes). */
export const OUTPUT_CAP_MB = DEFAULT_LIMITS.maxOutputChars / 2 ** 20;

/** One run alone, then `n` at once, in one function process. */
export function concurrentRuns(server: BenchServer, nb: BenchNotebook, n: number, root = PROJECT_ROOT): () => Promise<Record<string, number>> {
  return async () => {
    const fn = await startFunctionProcess(root, server);
    try {
      await fn.event(nb.serverPath); // modules loaded: the process's start is not measured below
      // Each peak is the peak since just before it (VmHWM reset), not the process's peak ever.
      fn.resetPeak();
      const idle = fn.memory().rssMb;
      const one = await fn.event(nb.serverPath);
      const alone = fn.memory();
      fn.resetPeak();
      const idleMany = fn.memory().rssMb;
      const t = nowMs();
      await Promise.all(Array.from({ length: n }, () => fn.event(nb.serverPath)));
      const total = nowMs() - t;
      const many = fn.memory();
      return {
        [`function 1 run (${nb.label})`]: one,
        [`function ${n} runs at once total (${nb.label})`]: total,
        'function peak RSS 1 run MB': alone.peakMb,
        [`function peak RSS ${n} runs at once MB`]: many.peakMb,
        'function peak RSS growth 1 run MB': alone.peakMb - idle,
        [`function peak RSS growth ${n} runs at once MB`]: many.peakMb - idleMany,
      };
    } finally {
      await fn.stop();
    }
  };
}

/** A trivial run (modules loaded), then the big-output notebook: peak RSS and its growth. */
export function bigOutput(server: BenchServer, trivial: BenchNotebook, big: BenchNotebook, root = PROJECT_ROOT): () => Promise<Record<string, number>> {
  return async () => {
    const fn = await startFunctionProcess(root, server);
    try {
      await fn.event(trivial.serverPath);
      // The peak from here on, not the process's peak ever (its start and first run set that).
      const measured = fn.resetPeak();
      const before = fn.memory();
      const ms = await fn.event(big.serverPath);
      const after = fn.memory();
      // A control: a trivial run's own peak growth, measured the same way.
      fn.resetPeak();
      const idle = fn.memory();
      await fn.event(trivial.serverPath);
      const control = fn.memory();
      if (!measured) return { [`function ${big.label} run`]: ms };
      return {
        [`function ${big.label} run`]: ms,
        [`function ${big.label} peak RSS MB`]: after.peakMb,
        [`function ${big.label} peak RSS growth MB`]: after.peakMb - before.rssMb,
        [`function ${trivial.label} run after it, peak RSS growth MB`]: control.peakMb - idle.rssMb,
      };
    } finally {
      await fn.stop();
    }
  };
}
