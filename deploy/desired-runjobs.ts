/**
 * Desired state of job-mode notebooks: a Cloud Run Job per notebook, from the notebook image,
 * running `nbtrigger job`, with the deployment's labels, and the message its schedules publish:
 * the JSON form naming the job (`"job": "projects/P/locations/R/jobs/J"`), which the function
 * starts with RunJob overrides. Pure: no I/O.
 *
 * Spec: docs/deploy.md (Job mode); deploy/rules-jobs.ts.
 * @module
 */
import { stringifyExactJson, type ParamValue } from '../functions/notebook/translators/values.js';
import type { NotebookSpec, ScheduleSpec } from './manifest.js';

/** The container command of a Cloud Run job: the nbtrigger CLI in the notebook image (notebook-image/Dockerfile). */
export const JOB_COMMAND = ['nbtrigger', 'job'] as const;

/** A Cloud Run Job as nbtrigger wants it (only the fields nbtrigger sets). */
export interface RunJobSpec {
  /** `projects/P/locations/R/jobs/ID`. */
  name: string;
  jobId: string;
  notebook: string;
  image: string;
  cpu: string;
  memory: string;
  /** Task timeout, seconds. */
  timeoutSeconds: number;
  maxRetries: number;
  serviceAccount?: string;
  labels: Record<string, string>;
}

/** The Cloud Run job of each job-mode notebook. `labels`: the deployment's marks. */
export function runJobSpecs(notebooks: NotebookSpec[], location: string, labels: Record<string, string>): RunJobSpec[] {
  return notebooks.filter((nb) => nb.execution === 'job' && nb.job).map((nb): RunJobSpec => {
    const s = nb.service;
    const j = nb.job!;
    const spec: RunJobSpec = {
      name: `${location}/jobs/${s.name}`, jobId: s.name, notebook: nb.name, image: s.image ?? '', cpu: j.cpu, memory: j.memory,
      timeoutSeconds: j.timeoutSeconds, maxRetries: j.maxRetries, labels: { ...s.labels, ...labels },
    };
    if (s.serviceAccount) spec.serviceAccount = s.serviceAccount;
    return spec;
  });
}

/**
 * The message of a job-mode schedule (JSON, stable key order): the job to start, the notebook's
 * path in the image, and the run's options, as the rich form carries them (functions/request/encode.ts).
 */
export function jobMessage(nb: NotebookSpec, sc: ScheduleSpec, jobName: string): string {
  const o: Record<string, unknown> = { job: jobName, notebook: `/${nb.path}` };
  if (sc.kernelName !== undefined) o.kernelName = sc.kernelName;
  if (sc.timeouts !== undefined && Object.keys(sc.timeouts).length > 0) o.timeouts = sc.timeouts;
  if (sc.parameters !== undefined) o.parameters = sc.parameters;
  if (sc.output !== undefined) o.output = sc.output;
  return stringifyExactJson(o as ParamValue);
}

/** Base64 Pub/Sub `data` of {@link jobMessage}. */
export function jobMessageData(nb: NotebookSpec, sc: ScheduleSpec, jobName: string): string {
  return Buffer.from(jobMessage(nb, sc, jobName), 'utf8').toString('base64');
}
