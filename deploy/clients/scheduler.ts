/**
 * Cloud Scheduler API v1 (the @google-cloud/scheduler CloudSchedulerClient) for deploy: list,
 * create, update and delete jobs whose Pub/Sub target carries the run message. Jobs have no
 * labels in this API, so nbtrigger marks its jobs with Pub/Sub attributes (and a description
 * prefix for people). The client is injected, so tests point it at a local server.
 *
 * A job's `state` is read: a PAUSED job stays paused (an update does not resume it), a job in
 * UPDATE_FAILED is updated again until it takes (docs/deploy.md, "Updates").
 *
 * Spec: https://cloud.google.com/scheduler/docs/reference/rpc/google.cloud.scheduler.v1.
 * @module
 */
import type { CloudSchedulerClient, protos } from '@google-cloud/scheduler';
import type { JobSpec } from '../desired.js';
import type { ActualJob, JobState } from '../plan.js';
import { apiError } from './errors.js';

type IJob = protos.google.cloud.scheduler.v1.IJob;

/** Fields nbtrigger owns on a job (the update mask of an update). */
const JOB_UPDATE_PATHS = ['description', 'schedule', 'time_zone', 'pubsub_target'];

/** Every job in `projects/P/locations/R`. */
export async function listJobs(client: CloudSchedulerClient, location: string): Promise<ActualJob[]> {
  try {
    // 500 a page, the most ListJobsRequest.page_size allows; one call a page, following next_page_token.
    const out: ActualJob[] = [];
    let pageToken = '';
    do {
      const [jobs, next] = await client.listJobs(
        { parent: location, pageSize: 500, pageToken },
        { autoPaginate: false },
      );
      out.push(...jobs.map(toActualJob));
      pageToken = next?.pageToken ?? '';
    } while (pageToken !== '');
    return out;
  } catch (e) {
    throw apiError(`list Cloud Scheduler jobs in ${location}`, e);
  }
}

/** The Job resource for a spec. `data` is the bytes of the message text (base64-decoded `encodeData`). */
export function toJob(spec: JobSpec): IJob {
  if (spec.data === undefined)
    throw apiError(
      `write Cloud Scheduler job ${spec.name}`,
      new Error(`the URL of service ${spec.service} is not known`),
    );
  return {
    name: spec.name,
    description: spec.description,
    schedule: spec.schedule,
    timeZone: spec.timeZone,
    pubsubTarget: {
      topicName: spec.topicName,
      data: Buffer.from(spec.data, 'base64'),
      attributes: { ...spec.attributes },
    },
  };
}

/** Creates a job (its parent is taken from the job's name). */
export async function createJob(client: CloudSchedulerClient, spec: JobSpec): Promise<void> {
  try {
    await client.createJob({ parent: spec.name.slice(0, spec.name.lastIndexOf('/jobs/')), job: toJob(spec) });
  } catch (e) {
    throw apiError(`create Cloud Scheduler job ${spec.name}`, e);
  }
}

/** Updates the fields nbtrigger owns ({@link JOB_UPDATE_PATHS}); others are left as they are. */
export async function updateJob(client: CloudSchedulerClient, spec: JobSpec): Promise<void> {
  try {
    await client.updateJob({ job: toJob(spec), updateMask: { paths: JOB_UPDATE_PATHS } });
  } catch (e) {
    throw apiError(`update Cloud Scheduler job ${spec.name}`, e);
  }
}

/** Deletes a job. */
export async function deleteJob(client: CloudSchedulerClient, name: string): Promise<void> {
  try {
    await client.deleteJob({ name });
  } catch (e) {
    throw apiError(`delete Cloud Scheduler job ${name}`, e);
  }
}

/** Job.State by number, as the client may give it. */
const STATES = ['STATE_UNSPECIFIED', 'ENABLED', 'PAUSED', 'DISABLED', 'UPDATE_FAILED'];

/** Reads back only what the plan compares; `data` as base64 whatever form the client gave. */
export function toActualJob(j: IJob): ActualJob {
  const out: ActualJob = {
    name: j.name ?? '',
    description: j.description ?? '',
    schedule: j.schedule ?? '',
    timeZone: j.timeZone ?? '',
    attributes: { ...(j.pubsubTarget?.attributes ?? {}) },
  };
  if (j.pubsubTarget?.topicName) out.topicName = j.pubsubTarget.topicName;
  const state = typeof j.state === 'number' ? STATES[j.state] : j.state;
  if (state) out.state = state as JobState;
  const data = j.pubsubTarget?.data;
  if (data !== undefined && data !== null)
    out.data = typeof data === 'string' ? data : Buffer.from(data).toString('base64');
  return out;
}
