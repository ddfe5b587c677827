/**
 * Cloud Run Admin API v2 Jobs (the @google-cloud/run JobsClient) for deploy: list jobs (paged),
 * create / update / delete a job and wait on the long-running operation, read and update who may
 * start it with overrides (roles/run.jobsExecutorWithOverrides). The client is injected.
 *
 * UpdateJobRequest has no update mask (job.proto): an update is a read-modify-write of the whole
 * job. The job is read, the fields nbtrigger owns are set on what was read (the rest kept), and it
 * is sent back with the etag read, so a concurrent change makes the update fail (ABORTED).
 *
 * Spec: https://cloud.google.com/run/docs/reference/rpc/google.cloud.run.v2#jobs; https://google.aip.dev/154.
 * @module
 */
import type { JobsClient, protos } from '@google-cloud/run';
import { JOB_COMMAND, type RunJobSpec } from '../desired-runjobs.js';
import { JOBS_EXECUTOR_WITH_OVERRIDES } from '../rules-jobs.js';
import { apiError } from './errors.js';
import { editPolicy } from './iam-policy.js';

type IJob = protos.google.cloud.run.v2.IJob;

/** Jobs asked for a page (ListJobsRequest.page_size; the server may answer fewer). */
const LIST_PAGE_SIZE = 500;

/** A Cloud Run job as read back (only what nbtrigger compares). */
export interface ActualRunJob {
  name: string;
  labels: Record<string, string>;
  image?: string;
  command?: string[];
  cpu?: string;
  memory?: string;
  timeoutSeconds?: number;
  maxRetries?: number;
  serviceAccount?: string;
}

/** Every Cloud Run job in `projects/P/locations/R`: one call a page (https://google.aip.dev/158). */
export async function listRunJobs(client: JobsClient, location: string): Promise<ActualRunJob[]> {
  try {
    const out: ActualRunJob[] = [];
    let pageToken = '';
    do {
      const [jobs, next] = await client.listJobs(
        { parent: location, pageSize: LIST_PAGE_SIZE, pageToken },
        { autoPaginate: false },
      );
      out.push(...jobs.map(toActual));
      pageToken = next?.pageToken ?? '';
    } while (pageToken !== '');
    return out;
  } catch (e) {
    throw apiError(`list Cloud Run jobs in ${location}`, e);
  }
}

/** `current` with the fields nbtrigger owns set from `spec`; everything else (volumes, env, VPC…) kept. */
function ownedFields(current: IJob, spec: RunJobSpec): IJob {
  const exec: protos.google.cloud.run.v2.IExecutionTemplate = { ...(current.template ?? {}) };
  const task: protos.google.cloud.run.v2.ITaskTemplate = { ...(exec.template ?? {}) };
  exec.labels = { ...(exec.labels ?? {}), ...spec.labels };
  // One task a run: the notebook runs once; the function may not ask for more.
  exec.taskCount = 1;
  task.timeout = { seconds: spec.timeoutSeconds, nanos: 0 };
  task.maxRetries = spec.maxRetries;
  if (spec.serviceAccount !== undefined) task.serviceAccount = spec.serviceAccount;
  const [first, ...others] = task.containers ?? [{}];
  task.containers = [
    {
      ...first,
      image: spec.image,
      command: [...JOB_COMMAND],
      resources: {
        ...(first?.resources ?? {}),
        limits: { ...(first?.resources?.limits ?? {}), cpu: spec.cpu, memory: spec.memory },
      },
    },
    ...others,
  ];
  exec.template = task;
  return { ...current, labels: { ...(current.labels ?? {}), ...spec.labels }, template: exec };
}

/** Creates a job and waits until the operation is done. */
export async function createRunJob(client: JobsClient, spec: RunJobSpec): Promise<ActualRunJob> {
  try {
    const parent = spec.name.slice(0, spec.name.lastIndexOf('/jobs/'));
    const [op] = await client.createJob({ parent, jobId: spec.jobId, job: ownedFields({}, spec) });
    const [job] = await op.promise();
    return toActual(job);
  } catch (e) {
    throw apiError(`create Cloud Run job ${spec.name}`, e);
  }
}

/** Output-only fields of a Job: never sent back. */
const OUTPUT_ONLY = [
  'uid',
  'generation',
  'createTime',
  'updateTime',
  'deleteTime',
  'expireTime',
  'creator',
  'lastModifier',
  'observedGeneration',
  'terminalCondition',
  'conditions',
  'executionCount',
  'latestCreatedExecution',
  'reconciling',
  'satisfiesPzs',
] as const;

/** Sets the fields nbtrigger owns on a job (read, edit, send back with the etag read) and waits. */
export async function updateRunJob(client: JobsClient, spec: RunJobSpec): Promise<ActualRunJob> {
  try {
    const [current] = await client.getJob({ name: spec.name });
    const read: Record<string, unknown> = { ...current };
    for (const k of OUTPUT_ONLY) delete read[k];
    const [op] = await client.updateJob({
      job: ownedFields({ ...(read as IJob), name: spec.name, etag: current.etag ?? '' }, spec),
    });
    const [job] = await op.promise();
    return toActual(job);
  } catch (e) {
    throw apiError(`update Cloud Run job ${spec.name}`, e);
  }
}

/** Deletes a job (and its executions) and waits until the operation is done. */
export async function deleteRunJob(client: JobsClient, name: string): Promise<void> {
  try {
    const [op] = await client.deleteJob({ name });
    await op.promise();
  } catch (e) {
    throw apiError(`delete Cloud Run job ${name}`, e);
  }
}

/** Members holding roles/run.jobsExecutorWithOverrides on a job. */
export async function getJobExecutors(client: JobsClient, name: string): Promise<string[]> {
  try {
    const [policy] = await client.getIamPolicy({ resource: name });
    return (policy.bindings ?? [])
      .filter((b) => b.role === JOBS_EXECUTOR_WITH_OVERRIDES && !b.condition)
      .flatMap((b) => b.members ?? []);
  } catch (e) {
    throw apiError(`read the IAM policy of ${name}`, e);
  }
}

/** Adds members to roles/run.jobsExecutorWithOverrides on a job (read-modify-write with the etag read). */
export async function addJobExecutors(client: JobsClient, name: string, add: string[]): Promise<void> {
  try {
    const [policy] = await client.getIamPolicy({ resource: name });
    await client.setIamPolicy({ resource: name, policy: editPolicy(policy, JOBS_EXECUTOR_WITH_OVERRIDES, add) });
  } catch (e) {
    throw apiError(`update the IAM policy of ${name}`, e);
  }
}

/** Reads back only what the plan compares. */
function toActual(j: IJob): ActualRunJob {
  const task = j.template?.template ?? {};
  const c = task.containers?.[0];
  const out: ActualRunJob = { name: j.name ?? '', labels: { ...(j.labels ?? {}) } };
  if (c?.image) out.image = c.image;
  if (c?.command && c.command.length > 0) out.command = [...c.command];
  const limits = c?.resources?.limits ?? {};
  if (limits.cpu !== undefined) out.cpu = limits.cpu;
  if (limits.memory !== undefined) out.memory = limits.memory;
  if (task.timeout?.seconds !== undefined && task.timeout.seconds !== null)
    out.timeoutSeconds = Number(task.timeout.seconds);
  if (task.maxRetries !== undefined && task.maxRetries !== null) out.maxRetries = Number(task.maxRetries);
  if (task.serviceAccount) out.serviceAccount = task.serviceAccount;
  return out;
}
