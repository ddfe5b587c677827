/**
 * The plan of a deployment's Cloud Run jobs (job-mode notebooks): create / update / no-op per
 * wanted job, a conflict for a job of that name nbtrigger did not make, the grant that lets the
 * function's service account start it with overrides (roles/run.jobsExecutorWithOverrides, the
 * jobOverridesRole rule), and the deletes of this deployment's jobs no longer wanted. The same
 * labels and prune/destroy rules as services. Pure: no I/O.
 *
 * Spec: docs/deploy.md (Job mode).
 * @module
 */
import type { ActualRunJob } from './clients/run-jobs.js';
import { isManagedBy, type DesiredState, type RunJobSpec } from './desired.js';
import { JOB_COMMAND } from './desired-runjobs.js';
import type { Action } from './plan.js';
import { JOBS_EXECUTOR_WITH_OVERRIDES } from './rules-jobs.js';

export type { ActualRunJob } from './clients/run-jobs.js';

/** Upserts of the wanted jobs, then their grants (deploy applies them in that order). */
export function planRunJobUpserts(
  desired: DesiredState,
  jobs: ActualRunJob[],
  executors: ReadonlyMap<string, string[]>,
): Action[] {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const upserts = desired.runJobs.map((spec): Action => {
    const cur = byName.get(spec.name);
    if (!cur) return { resource: 'runjob', op: 'create', name: spec.name, changes: [], runJob: spec };
    if (!isManagedBy(cur.labels, desired.deployment)) {
      return {
        resource: 'runjob',
        op: 'conflict',
        name: spec.name,
        changes: [
          `exists but was not made by nbtrigger deployment "${desired.deployment}": ` +
            'rename it in the manifest or remove it by hand',
        ],
      };
    }
    const changes = runJobChanges(spec, cur);
    return { resource: 'runjob', op: changes.length > 0 ? 'update' : 'noop', name: spec.name, changes, runJob: spec };
  });
  const grants = upserts
    .filter((a) => a.op !== 'conflict')
    .map((a): Action => {
      const current = a.op === 'create' ? [] : (executors.get(a.name) ?? []);
      const add = current.includes(desired.invoker) ? [] : [desired.invoker];
      return {
        resource: 'runjob-iam',
        op: add.length > 0 ? 'update' : 'noop',
        name: a.name,
        changes: add.map((m) => `+ ${JOBS_EXECUTOR_WITH_OVERRIDES} ${m}`),
        iam: { add, remove: [] },
      };
    });
  return [...upserts, ...grants];
}

/** Deletes of this deployment's jobs the manifest no longer has (or, for destroy, all of them: `wanted` empty). */
export function planRunJobDeletes(
  deployment: string,
  jobs: ActualRunJob[],
  wanted: ReadonlySet<string>,
  why: string[],
): Action[] {
  return jobs
    .filter((j) => !wanted.has(j.name) && isManagedBy(j.labels, deployment))
    .map((j): Action => ({ resource: 'runjob', op: 'delete', name: j.name, changes: why }));
}

/** What differs between the wanted job and the one read back (only fields nbtrigger sets). */
function runJobChanges(spec: RunJobSpec, cur: ActualRunJob): string[] {
  const out: string[] = [];
  const cmp = (field: string, want: unknown, got: unknown): void => {
    if (want !== got)
      out.push(`${field}: ${got === undefined ? '(unset)' : JSON.stringify(got)} → ${JSON.stringify(want)}`);
  };
  cmp('image', spec.image, cur.image);
  cmp('command', JOB_COMMAND.join(' '), cur.command?.join(' '));
  cmp('cpu', spec.cpu, cur.cpu);
  cmp('memory', spec.memory, cur.memory);
  cmp('timeout', spec.timeoutSeconds, cur.timeoutSeconds);
  cmp('maxRetries', spec.maxRetries, cur.maxRetries ?? 0);
  if (spec.serviceAccount !== undefined) cmp('serviceAccount', spec.serviceAccount, cur.serviceAccount);
  for (const [k, v] of Object.entries(spec.labels)) cmp(`labels.${k}`, v, cur.labels[k]);
  return out;
}
