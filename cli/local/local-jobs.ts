/**
 * The manifest's schedules as the local stack fires them: the very Pub/Sub message and
 * attributes `nbtrigger deploy` puts in each Cloud Scheduler job (built by deploy/desired.ts
 * with the function's own grammar), with the local Jupyter server's address instead of the
 * Cloud Run URL, and a `gs://` output mapped to the local runs folder (no bucket locally): a
 * relative path, which the function writes below its runs folder (a message may name no other).
 * A job-mode notebook's message (`execution: job`) names its Cloud Run job, as deployed: the local
 * function runs it as an `nbtrigger job` child process (functions/jobs/local-launcher.ts).
 * Pure: no I/O.
 *
 * Spec: docs/deploy.md (The same manifest, locally); deploy/desired.ts (jobSpec, scheduleRequest).
 * @module
 */
import { NbtError } from '../../functions/errors.js';
import { encodeMessage } from '../../functions/request/encode.js';
import { jobField } from '../../functions/jobs/job-message.js';
import { parseExactJson, stringifyExactJson, type ParamValue } from '../../functions/notebook/translators/values.js';
import { decodeData, parseMessage } from '../../functions/request/grammar.js';
import { desiredState, jobId } from '../../deploy/desired.js';
import type { Manifest } from '../../deploy/manifest.js';
import { DEFAULT_OUTPUT_SUFFIX } from '../../functions/sinks/location.js';

/** One schedule, ready to fire locally. */
export interface LocalJob {
  /** Schedule name (as in the manifest). */
  schedule: string;
  /** The Scheduler job id deploy would use (`DEPLOYMENT_SCHEDULE`). */
  jobId: string;
  notebook: string;
  service: string;
  cron: string;
  timeZone: string;
  /** The message text (classic or rich form) the job publishes. */
  text: string;
  attributes: Record<string, string>;
}

/** The output template used locally in place of a `gs://` location: beside the run records, in the runs folder. */
export function localOutput(): string {
  return DEFAULT_OUTPUT_SUFFIX;
}

/**
 * Builds every schedule's local job. `serviceUrls` maps Cloud Run service names to the local
 * server that stands in for each (`http://127.0.0.1:PORT`).
 */
export function localJobs(m: Manifest, serviceUrls: ReadonlyMap<string, string>): LocalJob[] {
  const state = desiredState(m, serviceUrls);
  const byService = new Map(m.notebooks.map((nb) => [nb.service.name, nb.name]));
  return state.jobs.map((job) => {
    if (job.data === undefined) throw new NbtError('CONFIG', `no local server for service ${job.service}`);
    // The deploy module's message, decoded with the function's grammar: exactly what Scheduler would send.
    const schedule = job.attributes['nbtrigger-schedule']!;
    const base = {
      schedule,
      jobId: jobId(m.name, schedule),
      notebook: byService.get(job.service)!,
      service: job.service,
      cron: job.schedule,
      timeZone: job.timeZone,
      attributes: { ...job.attributes },
    };
    const text = decodeData(job.data);
    // Job mode: the message names its Cloud Run job; the local function runs it as `nbtrigger job`.
    if (jobField(text) !== undefined) return { ...base, text: localJobText(text) };
    const request = parseMessage(text);
    if (request.output?.startsWith('gs://')) request.output = localOutput();
    return { ...base, text: encodeMessage(request) };
  });
}

/** A job-mode message as fired locally: its `gs://` output mapped to the runs folder, numbers exact. */
function localJobText(text: string): string {
  const o = parseExactJson(text) as Record<string, ParamValue>;
  if (typeof o.output === 'string' && o.output.startsWith('gs://')) o.output = localOutput();
  return stringifyExactJson(o);
}

/** Finds a job by schedule name or Scheduler job id; a helpful error names the known ones. */
export function findJob(jobs: LocalJob[], name: string): LocalJob {
  const hit = jobs.find((j) => j.schedule === name || j.jobId === name);
  if (!hit)
    throw new NbtError(
      'USAGE',
      `no schedule "${name}" in the manifest (known: ${jobs.map((j) => j.schedule).join(', ') || 'none'})`,
    );
  return hit;
}
