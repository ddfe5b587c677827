/**
 * A notebook's `execution:` and `job:` in the manifest. `execution: service` (the default) runs
 * the notebook on its Cloud Run service through the function, so a schedule's `timeouts.run` is
 * bounded by the function (RULES.functionCeiling). `execution: job` runs it as a Cloud Run Job
 * execution from the notebook image (command `nbtrigger job`), so `timeouts.run` may reach the
 * task timeout ceiling, 168 h (RULES.jobTaskTimeout). `job:` holds the job's task timeout,
 * retries, CPU and memory, checked against deploy/rules-jobs.ts before any call. Pure: no I/O.
 *
 * Spec: docs/deploy.md (Job mode).
 * @module
 */
import { durationSeconds, type FieldReader, join, typeName } from './fields.js';
import { jobTimeoutViolation, jobViolations, MAX_JOB_TASK_SECONDS } from './rules-jobs.js';
import { runTimeoutViolation, violationText } from './rules.js';

/** Where a notebook runs: on its Cloud Run service (through the function), or as a Cloud Run Job execution. */
export type Execution = 'service' | 'job';

/** A job-mode notebook's Cloud Run Job settings. */
export interface JobConfig {
  cpu: string;
  memory: string;
  /** Task timeout, seconds (1 s to 168 h). */
  timeoutSeconds: number;
  /** Retries per task (0 to 10). */
  maxRetries: number;
}

const JOB_KEYS = ['cpu', 'memory', 'timeout', 'maxRetries'] as const;
const CPU = /^(?:\d+(?:\.\d+)?|\d+m)$/;
const MEMORY = /^\d+(?:Mi|Gi)$/;
/** Defaults: 1 CPU, 2 GiB (as a notebook service), no retry (a retry would run the notebook again). */
const JOB_DEFAULTS = { cpu: '1', memory: '2Gi', maxRetries: 0 };
/** Task timeout when neither `job.timeout` nor a longer schedule says otherwise, seconds. */
const DEFAULT_TASK_SECONDS = 3600;
/** Room between a run's deadline and the task timeout: starting Jupyter, writing the outputs, seconds. */
export const TASK_MARGIN_SECONDS = 600;

/** `execution:`: `service` unless the notebook says `job`. */
export function readExecution(v: unknown, path: string, r: FieldReader): Execution | undefined {
  return v === undefined ? 'service' : r.oneOf(v, path, ['service', 'job'] as const);
}

/** The rule a schedule's run timeout breaks in the notebook's execution mode, as a problem text; or undefined. */
export function runTimeoutProblem(seconds: number, execution: Execution): string | undefined {
  const v = execution === 'job' ? jobTimeoutViolation(seconds, 'timeouts.run') : runTimeoutViolation(seconds);
  return v ? violationText(v) : undefined;
}

/**
 * `job:` of a job-mode notebook (`runSeconds`: the longest `timeouts.run` of its schedules). The
 * task timeout defaults to one hour, or the longest run plus {@link TASK_MARGIN_SECONDS} (at most
 * 168 h); a `job.timeout` shorter than a schedule's run is refused, naming both.
 */
export function readJobConfig(v: unknown, path: string, r: FieldReader, runSeconds: number | undefined): JobConfig | undefined {
  const o = r.mapping(v ?? {}, path, JOB_KEYS);
  if (!o) return undefined;
  const cpu = r.string(o.cpu === undefined ? JOB_DEFAULTS.cpu : String(o.cpu), join(path, 'cpu'), { pattern: CPU, expect: 'a CPU limit such as 1, 2 or 0.5' });
  const memory = r.string(o.memory ?? JOB_DEFAULTS.memory, join(path, 'memory'), { pattern: MEMORY, expect: 'a memory limit such as 512Mi or 2Gi' });
  // The range is the rule's (deploy/rules-jobs.ts): the reader only checks the type here.
  const maxRetries = o.maxRetries ?? JOB_DEFAULTS.maxRetries;
  if (typeof maxRetries !== 'number') r.problem(join(path, 'maxRetries'), `expected an integer from 0 to 10, got ${typeName(maxRetries)}`);
  let timeoutSeconds: number | undefined;
  if (o.timeout === undefined) {
    timeoutSeconds = runSeconds === undefined ? DEFAULT_TASK_SECONDS
      : Math.min(MAX_JOB_TASK_SECONDS, Math.max(DEFAULT_TASK_SECONDS, runSeconds + TASK_MARGIN_SECONDS));
  } else {
    timeoutSeconds = durationSeconds(o.timeout);
    if (timeoutSeconds === undefined) r.problem(join(path, 'timeout'), `expected a duration (e.g. 3600, "90m", "24h"), got ${typeName(o.timeout)}`);
    else if (runSeconds !== undefined && runSeconds > timeoutSeconds) {
      r.problem(join(path, 'timeout'), `task timeout ${timeoutSeconds} s is shorter than a schedule's timeouts.run (${runSeconds} s): `
        + 'the task would be stopped before the run deadline');
    }
  }
  if (cpu && memory && timeoutSeconds !== undefined && typeof maxRetries === 'number') {
    for (const x of jobViolations({ cpu, memory, timeoutSeconds, maxRetries })) r.problem(join(path, x.field), violationText(x));
  }
  if (!cpu || !memory || timeoutSeconds === undefined || typeof maxRetries !== 'number') return undefined;
  return { cpu, memory, timeoutSeconds, maxRetries };
}

/**
 * A job-mode notebook's Cloud Run job id is its `service.name` (the same naming rule), and it
 * must begin with `DEPLOYMENT-`: the function may start only the jobs named by its ALLOWED_JOBS
 * pattern, `projects/P/locations/R/jobs/DEPLOYMENT-*` (cloudbuild.yaml).
 */
export function jobIdProblem(jobId: string, deployment: string): string | undefined {
  return jobId.startsWith(`${deployment}-`) ? undefined
    : `a job-mode notebook's Cloud Run job is named by service.name and must begin with "${deployment}-" `
      + `(the function starts only jobs matching ${jobNamePrefix(deployment)}*), got "${jobId}"`;
}

/** The prefix every Cloud Run job id of a deployment has. */
export function jobNamePrefix(deployment: string): string {
  return `${deployment}-`;
}

/**
 * A notebook's `execution:` and, in job mode, a reader of its `job:` to call once its schedules
 * are read (the task timeout follows their longest run). `job:` without `execution: job` is refused.
 */
export function readNotebookJob(o: Record<string, unknown>, path: string, r: FieldReader, deployment: string, jobId: string | undefined): {
  execution: Execution | undefined;
  job?: (runs: Array<number | undefined>) => JobConfig | undefined;
} {
  const execution = readExecution(o.execution, join(path, 'execution'), r);
  if (execution !== 'job') {
    if (o.job !== undefined) r.problem(join(path, 'job'), 'job settings apply only to a notebook with "execution: job"');
    return { execution };
  }
  const why = jobId === undefined ? undefined : jobIdProblem(jobId, deployment);
  if (why) r.problem(join(path, 'service.name'), why);
  return {
    execution,
    job: (runs) => {
      const known = runs.filter((x): x is number => x !== undefined);
      return readJobConfig(o.job, join(path, 'job'), r, known.length > 0 ? Math.max(...known) : undefined);
    },
  };
}
