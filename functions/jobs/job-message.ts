/**
 * Job mode, pure: a JSON message naming `job` runs as a Cloud Run Job execution instead of inside
 * the function (whose event-driven timeout is at most 540 s). This module validates the job's name,
 * checks it against ALLOWED_JOBS (default deny), validates the rest of the message with the same
 * grammar the job reads it with, and builds the RunJob request. No I/O.
 *
 * Google Cloud rules relied on (docs/function.md#job-mode):
 * - a job's full name is `projects/{project}/locations/{location}/jobs/{job}`
 *   (https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.jobs/run);
 * - a task runs at most 168 hours (https://cloud.google.com/run/docs/configuring/task-timeout):
 *   the grammar caps `timeouts.runSeconds` at 604800 s, and the override never exceeds it;
 * - RunJob overrides need `run.jobs.runWithOverrides` (roles/run.jobsExecutorWithOverrides,
 *   https://cloud.google.com/iam/docs/roles-permissions/run).
 * @module
 */
import { NbtError } from '../errors.js';
import { parseExactJson, stringifyExactJson, type ParamValue } from '../notebook/translators/values.js';
import { parseMessage, type GrammarEnv, type RunRequest } from '../request/grammar.js';

/** The env var of the job's container that carries the request (the message without `job`, plus `runKey`). */
export const REQUEST_ENV = 'NBTRIGGER_REQUEST';
/** Schedule attributes of the message, passed on so the job takes the schedule's overlap lock. */
export const SCHEDULE_ENV = 'NBTRIGGER_SCHEDULE';
export const CONCURRENCY_ENV = 'NBTRIGGER_CONCURRENCY';

/**
 * Seconds the task timeout leaves past the run's deadline, to interrupt, record and delete the
 * kernel: the function's DEADLINE_MARGIN_SEC (functions/config.ts; a unit test holds them equal),
 * kept here so this module imports nothing with I/O.
 */
export const TASK_MARGIN_SEC = 30;

/** Longest task timeout Cloud Run accepts: 168 hours (https://cloud.google.com/run/docs/configuring/task-timeout). */
export const MAX_TASK_TIMEOUT_SEC = 168 * 3600;

/**
 * Largest NBTRIGGER_REQUEST passed to a job. Cloud Run does not document a per-variable limit we
 * rely on; this bound keeps a message's parameters from turning into an oversized RunJob call.
 */
export const MAX_REQUEST_ENV_BYTES = 32 * 1024;

/** Project id (6-30) or number / region / job name (a DNS label: lowercase, digits, '-', ≤ 63, from a letter). */
const JOB_NAME = new RegExp(
  '^projects/([a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20})/locations/([a-z][a-z0-9-]{1,40}[a-z0-9])' +
    '/jobs/([a-z](?:[a-z0-9-]{0,61}[a-z0-9])?)$',
);

/** A job-mode message, split: the job, the request the job reads, and that request parsed. */
export interface JobMessage {
  job: string;
  /** The message object without `job`, numbers exact (what the job's NBTRIGGER_REQUEST carries, before `runKey`). */
  body: Record<string, ParamValue>;
  /** The request as the function sees it; `server` is absent when the job starts its own. */
  request: RunRequest;
  /** True when the message names no server: the job runs the notebook on a Jupyter server it starts. */
  localServer: boolean;
}

/** The `job` field of a message text, when it is a JSON object that has one; else undefined. Never throws. */
export function jobField(text: string): unknown {
  const t = text.trim();
  if (!t.startsWith('{') || !t.includes('"job"')) return undefined;
  try {
    const o = JSON.parse(t) as unknown;
    return o !== null && typeof o === 'object' && !Array.isArray(o) && Object.hasOwn(o, 'job')
      ? (o as { job: unknown }).job
      : undefined;
  } catch {
    return undefined; // the grammar reports the bad JSON
  }
}

/** Validates a job's full resource name (the field named in the error). */
export function checkJobName(v: unknown, field = 'job'): string {
  if (typeof v !== 'string')
    throw bad(field, `field "${field}" must be a string, got ${v === null ? 'null' : typeof v}`);
  if (!JOB_NAME.test(v)) {
    throw bad(
      field,
      `field "${field}" must be a job's full name projects/PROJECT/locations/REGION/jobs/JOB, got "${v.slice(0, 120)}"`,
    );
  }
  return v;
}

/**
 * Splits and validates a job-mode message. The rest is parsed by the grammar exactly as the job
 * will parse it; with no `server`, a loopback stand-in fills the server the job starts itself,
 * and neither JUPYTER_SERVER nor JUPYTER_NOTEBOOK of the function fills anything.
 */
export function parseJobMessage(text: string, env: GrammarEnv = {}): JobMessage {
  // Read once, numbers exact (`1.0` stays a float, big integers whole): what the grammar and the job read.
  const body = { ...(parseExactJson(text.trim()) as Record<string, ParamValue>) };
  const job = checkJobName(body.job);
  delete body.job;
  const localServer = body.server === undefined;
  if (typeof body.notebook !== 'string') throw bad('notebook', 'a job message must name its notebook ("notebook")');
  const grammarEnv: GrammarEnv = {
    ...(env.JUPYTER_TOKEN ? { JUPYTER_TOKEN: env.JUPYTER_TOKEN } : {}),
    ...(localServer ? { JUPYTER_SERVER: '127.0.0.1:8888' } : {}),
  };
  // The grammar reads the message without `job`: a bad field is named before anything else.
  const request = parseMessage(stringifyExactJson(body), grammarEnv);
  return { job, body, request, localServer };
}

/** The NBTRIGGER_REQUEST text of a job message for `runKey`, numbers exact. */
export function requestEnvText(m: JobMessage, runKey: string): string {
  return stringifyExactJson({ ...m.body, runKey });
}

/** ALLOWED_JOBS: comma list of full job names, each may end in `*` (a prefix). Unset or empty: nothing. */
export function allowedJobs(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Refuses a job ALLOWED_JOBS does not name (default deny; permanent CONFIG error). */
export function checkJobAllowed(job: string, patterns: string[]): void {
  if (patterns.length === 0) {
    throw new NbtError(
      'CONFIG',
      `job ${job} is not allowed: ALLOWED_JOBS is not set, so the function starts no job (default deny)`,
      { details: { field: 'ALLOWED_JOBS' } },
    );
  }
  const ok = patterns.some((p) => (p.endsWith('*') ? job.startsWith(p.slice(0, -1)) : job === p));
  if (!ok) throw new NbtError('CONFIG', `job ${job} is not in ALLOWED_JOBS`, { details: { field: 'job' } });
}

/**
 * The function's deployment settings a job's run needs as the function's own runs have them: where
 * records, leases and outputs go, and what a message may reach. They travel as env overrides of the
 * execution, so one environment file (infra/function-env.mjs) configures both modes. Never a secret:
 * overrides show in the execution's details (the job reads JUPYTER_TOKEN from its own secret).
 */
export const FORWARDED_ENV = [
  'NODE_ENV',
  'NBTRIGGER_STORE',
  'NBTRIGGER_RUNS_COLLECTION',
  'NBTRIGGER_LEASES_COLLECTION',
  'NBTRIGGER_OUTPUT',
  'ALLOWED_OUTPUTS',
  'ALLOWED_SOURCES',
  'ALLOWED_SERVERS',
  'NBTRIGGER_MAX_NOTEBOOK_BYTES',
  'NBTRIGGER_MEMORY_BUDGET_MB',
] as const;

/** What the launcher sends: google.cloud.run.v2.RunJobRequest, camelCase as the client takes it. */
export interface RunJobCall {
  name: string;
  overrides: {
    containerOverrides: Array<{ env: Array<{ name: string; value: string }> }>;
    timeout?: { seconds: number };
  };
}

/**
 * The RunJob request: NBTRIGGER_REQUEST (the message without `job`, with the dedupe key as
 * `runKey` so the job dedupes its own retries), the schedule's attributes, and the task timeout
 * when the request sets `timeouts.runSeconds`: the run's deadline plus the margin the job needs to
 * record and delete its kernel, never above 168 h.
 */
export function buildRunJob(
  m: JobMessage,
  runKey: string,
  schedule?: { schedule: string; concurrency: string },
  deployment: Record<string, string | undefined> = {},
): RunJobCall {
  const value = requestEnvText(m, runKey);
  if (Buffer.byteLength(value) > MAX_REQUEST_ENV_BYTES) {
    throw bad('data', `a job message may be at most ${MAX_REQUEST_ENV_BYTES} bytes (it travels as ${REQUEST_ENV})`);
  }
  const env = [{ name: REQUEST_ENV, value }];
  if (schedule)
    env.push({ name: SCHEDULE_ENV, value: schedule.schedule }, { name: CONCURRENCY_ENV, value: schedule.concurrency });
  for (const name of FORWARDED_ENV) {
    const value = deployment[name];
    if (value !== undefined) env.push({ name, value });
  }
  const call: RunJobCall = { name: m.job, overrides: { containerOverrides: [{ env }] } };
  const run = m.request.timeouts.runSeconds;
  if (run !== undefined)
    call.overrides.timeout = { seconds: Math.min(MAX_TASK_TIMEOUT_SEC, Math.ceil(run) + TASK_MARGIN_SEC) };
  return call;
}

/** gRPC status codes RunJob answers with (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
const GRPC = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNAVAILABLE: 14,
  INTERNAL: 13,
} as const;

/** What a failed RunJob means: retry later (capacity, availability) or final (refused), naming the job. */
export function launchError(job: string, code: number | undefined, message: string): NbtError {
  const text = message.slice(0, 300);
  switch (code) {
    case GRPC.RESOURCE_EXHAUSTED:
    case GRPC.UNAVAILABLE:
    case GRPC.DEADLINE_EXCEEDED:
    case GRPC.INTERNAL:
      return new NbtError('JOB_UNAVAILABLE', `job ${job} could not be started now (gRPC ${code}): ${text}`, {
        details: { job, grpcCode: code },
      });
    case GRPC.PERMISSION_DENIED:
      return new NbtError(
        'JOB_REFUSED',
        `job ${job}: permission denied (the function's account needs roles/run.jobsExecutorWithOverrides ` +
          `on it): ${text}`,
        { details: { job, grpcCode: code } },
      );
    case GRPC.NOT_FOUND:
      return new NbtError('JOB_REFUSED', `job ${job} does not exist: ${text}`, { details: { job, grpcCode: code } });
    case GRPC.INVALID_ARGUMENT:
      return new NbtError('JOB_REFUSED', `job ${job} refused the run's overrides: ${text}`, {
        details: { job, grpcCode: code },
      });
    default:
      return new NbtError('JOB_UNAVAILABLE', `job ${job} could not be started (gRPC ${code ?? 'no code'}): ${text}`, {
        details: { job, grpcCode: code },
      });
  }
}

function bad(field: string, message: string): NbtError {
  return new NbtError('BAD_MESSAGE', message, { details: { field } });
}
