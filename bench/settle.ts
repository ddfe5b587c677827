/**
 * A quiet machine before each case: waits until the CPUs were (nearly) idle over a short window,
 * for at most a few seconds. A case can leave work behind it that is not its own measure: the
 * image server replaces a pool kernel it handed out (≈0.8 s of CPU), a kernel finishes its exit, a
 * Node client's V8 threads wind down. On a 2-core machine that work would land on the next case.
 * The wait is not timed; a case that starts at the cap starts on a busy machine, and the round's
 * line says how many did.
 *
 * Reads the `cpu` line of /proc/stat (proc(5)): jiffies per state summed over all CPUs. Elsewhere
 * (no /proc/stat) nothing is waited for.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { sleep as wait } from '../functions/jupyter/retry.js';
import { nowMs } from './stats.js';

/** Jiffies spent in all states, and in idle + iowait, over all CPUs. */
export interface CpuTimes {
  total: number;
  idle: number;
}

/** The aggregate `cpu` line of /proc/stat; undefined when there is none. */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return undefined;
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice)
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (v.length < 5 || v.some((n) => !Number.isFinite(n))) return undefined;
  return { total: v.reduce((a, b) => a + b, 0), idle: v[3]! + v[4]! };
}

async function readProcStat(): Promise<CpuTimes | undefined> {
  try {
    return parseProcStat(await readFile('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

export interface SettleOptions {
  /** The longest wait, ms (default 5000). */
  maxMs?: number;
  /** The window the CPUs must be quiet over, ms (default 100: 20 jiffies on 2 CPUs at 100 Hz). */
  windowMs?: number;
  /** The busy share of all CPUs, 0–1, at or under which a window is quiet (default 0.1). */
  quietShare?: number;
  readStat?: () => Promise<CpuTimes | undefined>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface Settled {
  waitedMs: number;
  /** False when the wait ended at `maxMs` on a busy machine. */
  quiet: boolean;
}

/** Waits for one quiet window of the CPUs, or `maxMs`. */
export async function settle(opts: SettleOptions = {}): Promise<Settled> {
  const maxMs = opts.maxMs ?? 5000;
  const windowMs = opts.windowMs ?? 100;
  const quietShare = opts.quietShare ?? 0.1;
  const readStat = opts.readStat ?? readProcStat;
  const sleep = opts.sleep ?? wait;
  const now = opts.now ?? nowMs;
  const t0 = now();
  let before = await readStat();
  if (!before) return { waitedMs: 0, quiet: true };
  for (;;) {
    await sleep(windowMs);
    const after = await readStat();
    const waitedMs = now() - t0;
    if (!after) return { waitedMs, quiet: true };
    const total = after.total - before.total;
    // No jiffy passed (a clock this coarse, or a window too short): the window says nothing yet.
    if (total > 0 && 1 - (after.idle - before.idle) / total <= quietShare) return { waitedMs, quiet: true };
    if (waitedMs >= maxMs) return { waitedMs, quiet: false };
    before = after;
  }
}
