/**
 * The documented Google Cloud quotas a large deployment meets, each with the page that states
 * it, checked at `plan` (and offline at `plan --check`, on the manifest alone) before deploy
 * hits them. An `error` cannot be deployed (deploy refuses before any change); a `warn` fails
 * part of the deploy unless the project's quota was raised; a `note` says what paces the deploy.
 * Pure: no I/O. The table is in docs/deploy.md ("Quotas").
 * @module
 */
import type { Manifest } from './manifest.js';
import type { Action, ActualState } from './plan.js';
import type { Rule } from './rules.js';

const SCHEDULER_QUOTAS = 'https://cloud.google.com/scheduler/quotas';
const RUN_QUOTAS = 'https://cloud.google.com/run/quotas';

/** Cloud Scheduler: "Number of jobs (per region): Default 1000, Max 5000". */
export const SCHEDULER_JOBS_DEFAULT = 1000;
export const SCHEDULER_JOBS_MAX = 5000;
/** Cloud Scheduler: "Write API Requests per minute (CreateJob, UpdateJob, DeleteJob, …): 500". */
export const SCHEDULER_WRITES_PER_MINUTE = 500;
/** Cloud Run: "Service: maximum number of services, 1000, per project and region". */
export const RUN_SERVICES_PER_REGION = 1000;
/** Cloud Run jobs per project and region (https://cloud.google.com/run/quotas). */
export const RUN_JOBS_PER_REGION = 1000;
/**
 * From this many Cloud Run writes in one deploy, plan says that the per-region write quota paces them
 * (nbtrigger's threshold).
 */
export const RUN_WRITES_NOTE_FROM = 100;

export const QUOTAS = {
  schedulerJobs: {
    id: 'scheduler.jobs-per-region',
    url: SCHEDULER_QUOTAS,
    text:
      `Cloud Scheduler allows ${SCHEDULER_JOBS_DEFAULT} jobs per project and region by default ` +
      `and ${SCHEDULER_JOBS_MAX} at most (by a quota increase)`,
  },
  schedulerWrites: {
    id: 'scheduler.write-rate',
    url: SCHEDULER_QUOTAS,
    text:
      `Cloud Scheduler takes ${SCHEDULER_WRITES_PER_MINUTE} write requests (create, update, delete) ` +
      'a minute per project',
  },
  runServices: {
    id: 'run.services-per-region',
    url: RUN_QUOTAS,
    text: `Cloud Run allows ${RUN_SERVICES_PER_REGION} services per project and region`,
  },
  runJobs: {
    id: 'run.jobs-per-region',
    url: RUN_QUOTAS,
    text: `Cloud Run allows ${RUN_JOBS_PER_REGION} jobs per project and region`,
  },
  runWrites: {
    id: 'run.admin-write-rate',
    url: RUN_QUOTAS,
    text:
      'the Cloud Run Admin API limits write requests per minute per region ' +
      "(the project's value is on the Quotas page of the console)",
  },
} as const satisfies Record<string, Rule>;

export interface QuotaFinding {
  level: 'error' | 'warn' | 'note';
  rule: Rule;
  found: string;
}

/** What the quota checks count: resources in the region after the deploy, and the writes it makes. */
export interface QuotaCounts {
  jobsAfter: number;
  servicesAfter: number;
  schedulerWrites: number;
  runWrites: number;
  /** Cloud Run jobs (job-mode notebooks) in the region after the plan; undefined: none counted. */
  runJobsAfter?: number;
}

/** The findings for `c`, most serious first. */
export function quotaFindings(c: QuotaCounts): QuotaFinding[] {
  const out: QuotaFinding[] = [];
  if (c.jobsAfter > SCHEDULER_JOBS_MAX) {
    out.push({
      level: 'error',
      rule: QUOTAS.schedulerJobs,
      found: `${c.jobsAfter} jobs in the region: split the deployment over regions or projects`,
    });
  } else if (c.jobsAfter > SCHEDULER_JOBS_DEFAULT) {
    out.push({
      level: 'warn',
      rule: QUOTAS.schedulerJobs,
      found:
        `${c.jobsAfter} jobs in the region: above the default quota, ` +
        "creates past the project's quota fail (raise it, then run deploy again)",
    });
  }
  if (c.servicesAfter > RUN_SERVICES_PER_REGION) {
    out.push({
      level: 'warn',
      rule: QUOTAS.runServices,
      found:
        `${c.servicesAfter} services in the region: creates past the project's limit fail ` +
        '(split the deployment over regions or projects)',
    });
  }
  if ((c.runJobsAfter ?? 0) > RUN_JOBS_PER_REGION) {
    const found = `${c.runJobsAfter} Cloud Run jobs in the region: creates past the project's limit fail`;
    out.push({ level: 'warn', rule: QUOTAS.runJobs, found });
  }
  if (c.schedulerWrites > SCHEDULER_WRITES_PER_MINUTE) {
    const minutes = Math.ceil(c.schedulerWrites / SCHEDULER_WRITES_PER_MINUTE);
    out.push({
      level: 'note',
      rule: QUOTAS.schedulerWrites,
      found:
        `${c.schedulerWrites} job writes take at least ${minutes} minutes; ` +
        'deploy waits out each RESOURCE_EXHAUSTED for the delay the server names',
    });
  }
  if (c.runWrites >= RUN_WRITES_NOTE_FROM) {
    out.push({
      level: 'note',
      rule: QUOTAS.runWrites,
      found:
        `${c.runWrites} Cloud Run writes (services and their IAM policies); ` +
        'deploy waits out each RESOURCE_EXHAUSTED for the delay the server names',
    });
  }
  return out;
}

/** Counts from a plan: what exists in the region, less what it deletes, plus what it creates. */
export function planCounts(actual: ActualState, actions: readonly Action[]): QuotaCounts {
  const n = (resource: Action['resource'], op: Action['op']): number =>
    actions.filter((a) => a.resource === resource && a.op === op).length;
  const writes = (...resources: Action['resource'][]): number =>
    actions.filter((a) => resources.includes(a.resource) && a.op !== 'noop' && a.op !== 'conflict').length;
  return {
    jobsAfter: actual.jobs.length - n('job', 'delete') + n('job', 'create'),
    servicesAfter: actual.services.length - n('service', 'delete') + n('service', 'create'),
    schedulerWrites: writes('job'),
    runWrites: writes('service', 'iam', 'runjob', 'runjob-iam'),
    runJobsAfter: (actual.runJobs?.length ?? 0) - n('runjob', 'delete') + n('runjob', 'create'),
  };
}

/** Counts from the manifest alone (`plan --check`): as a first deploy into an empty region. */
export function manifestCounts(m: Manifest): QuotaCounts {
  const jobs = m.notebooks.reduce((k, nb) => k + nb.schedules.length, 0);
  const runJobs = m.notebooks.filter((nb) => nb.execution === 'job').length;
  return {
    jobsAfter: jobs,
    servicesAfter: m.notebooks.length - runJobs,
    schedulerWrites: jobs,
    runWrites: 2 * m.notebooks.length,
    runJobsAfter: runJobs,
  };
}

/** `LEVEL quota: FOUND: RULE (URL)`, one line a finding. */
export function renderQuotas(findings: readonly QuotaFinding[]): string {
  return findings
    .map((f) => `${f.level.toUpperCase()} quota ${f.rule.id}: ${f.found}: ${f.rule.text} (${f.rule.url})\n`)
    .join('');
}
