/**
 * The local stack's in-process cron: fires each job at the times Cloud Scheduler would (5-field
 * unix-cron in the job's IANA time zone, via deploy/cron.ts and croner), reading time from an
 * injectable clock so a test can start "one second before 07:00 in Tokyo" instead of waiting.
 *
 * Spec: docs/deploy.md (an in-process cron … same 5-field unix-cron and time zones as Cloud Scheduler;
 * "inject time so a test does not wait a minute").
 * @module
 */
import { nextFireTimes } from '../../deploy/cron.js';

export interface CronJob {
  cron: string;
  timeZone: string;
}

export interface LocalCron {
  /** The next fire time of each job (for the startup banner). */
  next(): Map<CronJob, Date>;
  stop(): void;
}

/** A clock that reads `start` now and runs at real speed from there. */
export function offsetClock(start: Date, realNow: () => number = Date.now): () => number {
  const offset = start.getTime() - realNow();
  return () => realNow() + offset;
}

/** The longest single timer: long waits are re-checked (setTimeout caps at about 24.8 days). */
const MAX_WAIT_MS = 60 * 60_000;

/** Starts timers for `jobs`; `fire(job, at)` is called at each scheduled time (not awaited). */
export function startCron<J extends CronJob>(
  jobs: J[],
  fire: (job: J, scheduledAt: Date) => void,
  now: () => number = Date.now,
): LocalCron {
  const timers = new Set<NodeJS.Timeout>();
  const nextAt = new Map<CronJob, Date>();
  let stopped = false;
  const arm = (job: J, after: Date): void => {
    if (stopped) return;
    const [next] = nextFireTimes(job.cron, job.timeZone, 1, after);
    if (!next) return;
    nextAt.set(job, next);
    const wait = (): void => {
      if (stopped) return;
      const ms = next.getTime() - now();
      const t = setTimeout(
        () => {
          timers.delete(t);
          if (next.getTime() - now() > 0) return wait(); // woke early (a capped wait): wait more
          fire(job, next);
          arm(job, next);
        },
        Math.min(Math.max(ms, 0), MAX_WAIT_MS),
      );
      timers.add(t);
    };
    wait();
  };
  for (const job of jobs) arm(job, new Date(now()));
  return {
    next: () => new Map(nextAt),
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
