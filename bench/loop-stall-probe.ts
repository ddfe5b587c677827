/**
 * Loaded into the served function's process (`NODE_OPTIONS=--import …/loop-stall-probe.js`) by the
 * concurrency bench: Node's event-loop delay histogram (perf_hooks, 10 ms resolution) runs for the
 * process's life; on SIGUSR2 the probe writes what it saw since the last signal (max and p99, ms)
 * to `NBTRIGGER_BENCH_STALL_FILE` and starts over. A stall is a turn of the loop that kept every
 * other run waiting: what many runs at once through one instance must not do for long.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.NBTRIGGER_BENCH_STALL_FILE;
if (file) {
  const resolutionMs = 10;
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  // The histogram holds whole intervals between its timer's turns (an idle loop reads ≈10 ms): the
  // stall is what an interval took beyond the timer's own 10 ms.
  const stall = (ns: number): number => Math.max(0, ns / 1e6 - resolutionMs);
  process.on('SIGUSR2', () => {
    writeFileSync(file, JSON.stringify({ maxMs: stall(h.max), p99Ms: stall(h.percentile(99)), n: h.count }));
    h.reset();
  });
}
