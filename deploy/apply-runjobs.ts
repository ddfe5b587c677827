/**
 * Deploy's reads and writes of Cloud Run jobs (job-mode notebooks), called from deploy/apply.ts:
 * one paged list of the location's jobs (never a get per job), the executor policy of each wanted
 * job that exists, then the upserts and grants of a plan, each a per-resource step as services
 * have (deploy/pacing.ts), and the deletes. Grants are noted in the deploy's GrantWatch, so a
 * call refused while one takes effect waits for it (deploy/iam-propagation.ts).
 *
 * Spec: docs/deploy.md (Job mode).
 * @module
 */
import { NbtError } from '../functions/errors.js';
import type { DeployClients } from './clients/index.js';
import { addJobExecutors, createRunJob, deleteRunJob, getJobExecutors, listRunJobs, type ActualRunJob } from './clients/run-jobs.js';
import { isManagedBy } from './desired.js';
import type { GrantWatch } from './iam-propagation.js';
import type { Manifest } from './manifest.js';
import { DEFAULT_PACING, forEachBounded, withQuotaRetry } from './pacing.js';
import type { Action } from './plan.js';
import { JOBS_EXECUTOR_WITH_OVERRIDES } from './rules-jobs.js';
import { updateRunJob } from './clients/run-jobs.js';

/** The Jobs client, or a CONFIG refusal when the manifest has job-mode notebooks and there is none. */
function jobsClient(clients: DeployClients, m: Manifest): DeployClients['runJobs'] {
  if (clients.runJobs || !m.notebooks.some((nb) => nb.execution === 'job')) return clients.runJobs;
  throw new NbtError('CONFIG', `${m.file} has job-mode notebooks but no Cloud Run Jobs client was given`);
}

/** The location's Cloud Run jobs and the executors of the wanted ones that exist. Read-only. */
export async function readRunJobs(clients: DeployClients, m: Manifest, location: string): Promise<{
  runJobs: ActualRunJob[];
  runJobExecutors: Map<string, string[]>;
}> {
  const client = jobsClient(clients, m);
  const runJobExecutors = new Map<string, string[]>();
  if (!client) return { runJobs: [], runJobExecutors };
  const runJobs = await listRunJobs(client, location);
  const wanted = new Set(m.notebooks.filter((nb) => nb.execution === 'job').map((nb) => `${location}/jobs/${nb.service.name}`));
  const errors: unknown[] = [];
  await forEachBounded(runJobs.filter((j) => wanted.has(j.name)), DEFAULT_PACING.concurrency, async (j) => {
    try {
      runJobExecutors.set(j.name, await withQuotaRetry(`read the IAM policy of ${j.name}`, () => getJobExecutors(client, j.name)));
    } catch (e) {
      errors.push(e);
    }
  });
  if (errors.length > 0) throw errors[0];
  return { runJobs, runJobExecutors };
}

/** Job id → image of this deployment's Cloud Run jobs (what a `build:` notebook runs now). */
export function runningJobImages(jobs: readonly ActualRunJob[], deployment: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const j of jobs) if (j.image && isManagedBy(j.labels, deployment)) out.set(j.name.slice(j.name.lastIndexOf('/') + 1), j.image);
  return out;
}

type Apply = (a: Action, fn: () => Promise<void>) => Promise<void>;

/**
 * Applies the plan's Cloud Run job upserts, then the grants of the jobs that did not fail.
 * Answers how many grant actions were skipped because their job failed (deploy counts them out).
 */
export async function applyRunJobUpserts(clients: DeployClients, m: Manifest, actions: Action[], apply: Apply, iam: GrantWatch,
  concurrency: number, failed: (name: string) => boolean): Promise<number> {
  const client = jobsClient(clients, m);
  const upserts = actions.filter((a) => a.resource === 'runjob' && (a.op === 'create' || a.op === 'update' || a.op === 'noop'));
  await forEachBounded(upserts, concurrency, (a) => apply(a, async () => {
    if (!client || !a.runJob) return;
    if (a.op === 'create') await createRunJob(client, a.runJob);
    else if (a.op === 'update') await updateRunJob(client, a.runJob);
  }));
  const grants = actions.filter((a) => a.resource === 'runjob-iam');
  const kept = grants.filter((a) => !failed(a.name));
  await forEachBounded(kept, concurrency, (a) => {
    if (a.op === 'update' && a.iam && a.iam.add.length > 0) iam.granted(JOBS_EXECUTOR_WITH_OVERRIDES, a.iam.add, a.name);
    return apply(a, async () => {
      if (client && a.op === 'update' && a.iam) await addJobExecutors(client, a.name, a.iam.add);
    });
  });
  return grants.filter((a) => failed(a.name) && a.op === 'update').length;
}

/** Deletes one Cloud Run job (a prune or destroy step). */
export async function deleteRunJobOf(clients: DeployClients, m: Manifest, name: string): Promise<void> {
  const client = clients.runJobs ?? jobsClient(clients, m);
  if (!client) throw new NbtError('CONFIG', `cannot delete Cloud Run job ${name}: no Cloud Run Jobs client was given`);
  await deleteRunJob(client, name);
}
