/**
 * The Cloud Run Jobs rules (the entries `jobTaskTimeout`, `jobMaxRetries`, `jobTaskCount`,
 * `jobResources`, `jobOverridesRole` of RULES in deploy/rules.ts, each with its page), as checks
 * on a job's settings. Pure: no I/O. `plan --check` and the local Jobs fake both run them.
 * @module
 */
import { RULES, runViolations, type Violation } from './rules.js';

/** Longest a Cloud Run job task may run, seconds (168 h). */
export const MAX_JOB_TASK_SECONDS = 168 * 3600;
/** Most retries per task. */
export const MAX_JOB_RETRIES = 10;
/** Most tasks in one job execution. */
export const MAX_JOB_TASKS = 10_000;
/** The role that holds run.jobs.runWithOverrides. */
export const JOBS_EXECUTOR_WITH_OVERRIDES = 'roles/run.jobsExecutorWithOverrides';

/** What the Jobs rules look at. */
export interface JobSettings {
  cpu: string;
  memory: string;
  timeoutSeconds?: number;
  maxRetries?: number;
  taskCount?: number;
  parallelism?: number;
}

/** The task-timeout rule, or undefined. */
export function jobTimeoutViolation(seconds: number, field = 'timeout'): Violation | undefined {
  if (Number.isFinite(seconds) && seconds >= 1 && seconds <= MAX_JOB_TASK_SECONDS) return undefined;
  return { field, rule: RULES.jobTaskTimeout, found: `task timeout ${seconds} s` };
}

/** Every Jobs rule `j` breaks. */
export function jobViolations(j: JobSettings): Violation[] {
  const out: Violation[] = [];
  // The service CPU/memory rules apply to jobs; concurrency and billing do not exist on a job, so
  // they are given the values that keep those service-only rules silent.
  for (const v of runViolations({ cpu: j.cpu, memory: j.memory, cpuIdle: true, concurrency: 1 })) {
    out.push({ ...v, rule: { ...RULES.jobResources, text: `${RULES.jobResources.text} (${v.rule.text})` } });
  }
  if (j.timeoutSeconds !== undefined) {
    const t = jobTimeoutViolation(j.timeoutSeconds);
    if (t) out.push(t);
  }
  const r = j.maxRetries;
  if (r !== undefined && !(Number.isInteger(r) && r >= 0 && r <= MAX_JOB_RETRIES)) {
    out.push({ field: 'maxRetries', rule: RULES.jobMaxRetries, found: `maxRetries ${r}` });
  }
  const n = j.taskCount;
  if (n !== undefined && !(Number.isInteger(n) && n >= 1 && n <= MAX_JOB_TASKS)) {
    out.push({ field: 'taskCount', rule: RULES.jobTaskCount, found: `task count ${n}` });
  }
  const p = j.parallelism;
  if (p !== undefined && !(Number.isInteger(p) && p >= 0 && p <= (n ?? 1))) {
    out.push({ field: 'parallelism', rule: RULES.jobTaskCount, found: `parallelism ${p} with ${n ?? 1} tasks` });
  }
  return out;
}
