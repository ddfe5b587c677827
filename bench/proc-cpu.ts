/**
 * CPU seconds from /proc (Linux): a running process's own, and this process's reaped children's.
 * Fields of /proc/PID/stat (proc(5)) counted after the command name: utime, stime at 14–15,
 * cutime, cstime at 16–17, in clock ticks of USER_HZ (`getconf CLK_TCK`: 100 on Linux).
 * @module
 */
import { readFileSync } from 'node:fs';

const TICK_S = 0.01;

/** The stat fields after `(comm)`: index 0 is field 3 (state). */
function statFields(pid: number | 'self'): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system) process `pid` has used so far. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return (Number(f[11]) + Number(f[12])) * TICK_S;
}

/**
 * CPU seconds of this process's reaped children (cutime + cstime); NaN without /proc. The bench
 * runs one case at a time and reaps each child before the next, so the difference around one
 * child is that child's CPU (its threads and its own reaped children included).
 */
export function childrenCpuSeconds(): number {
  try {
    const f = statFields('self');
    return (Number(f[13]) + Number(f[14])) * TICK_S;
  } catch {
    return Number.NaN;
  }
}
