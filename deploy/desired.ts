/**
 * Desired state: what a manifest asks Google Cloud to hold, as plain resource specs with full
 * resource names, the labels/attributes that mark them as nbtrigger's, and each Scheduler job's
 * Pub/Sub data encoded by the function's own message grammar. Pure: no I/O.
 *
 * Spec: docs/deploy.md; the message contract: functions/request/grammar.ts.
 * @module
 */
import { encodeData } from '../functions/request/encode.js';
import type { RunRequest } from '../functions/request/grammar.js';
import { NbtError } from '../functions/errors.js';
import { builtImage } from './image.js';
import type { Concurrency, Manifest, NotebookSpec, ScheduleSpec } from './manifest.js';
import { sourceUri } from './notebook-source.js';
import { parseSourceRef, shownUrl, type ExternalRef } from '../functions/sources/source-ref.js';
import { jobMessageData, runJobSpecs, type RunJobSpec } from './desired-runjobs.js';

export type { RunJobSpec } from './desired-runjobs.js';

/** Label / attribute keys that mark what nbtrigger made, and for which deployment. */
const MANAGED_BY = 'managed-by';
const MANAGED_BY_VALUE = 'nbtrigger';
const DEPLOYMENT_KEY = 'nbtrigger-deployment';
/** Pub/Sub attributes a Scheduler job adds to each message (they travel with the request). */
export const ATTR_SCHEDULE = 'nbtrigger-schedule';
const ATTR_CONCURRENCY = 'nbtrigger-concurrency';
/** The Cloud Run role the function's service account gets on each service. */
export const INVOKER_ROLE = 'roles/run.invoker';
/** The env var the Jupyter container reads its token from (a Secret Manager reference). */
export const TOKEN_ENV = 'JUPYTER_TOKEN';

/** A Cloud Run service as nbtrigger wants it (only the fields nbtrigger sets). */
export interface ServiceSpec {
  /** `projects/P/locations/R/services/ID`. */
  name: string;
  serviceId: string;
  notebook: string;
  image: string;
  cpu: string;
  memory: string;
  /** Maximum concurrent requests per instance. */
  concurrency: number;
  /** True: request-based billing (CPU only during requests). */
  cpuIdle: boolean;
  startupCpuBoost: boolean;
  minInstances: number;
  maxInstances: number;
  timeoutSeconds: number;
  serviceAccount?: string;
  /** Secret Manager secret id mounted as JUPYTER_TOKEN (version `latest`). */
  tokenSecret: string;
  labels: Record<string, string>;
}

/** A Cloud Scheduler job as nbtrigger wants it. */
export interface JobSpec {
  /** `projects/P/locations/R/jobs/ID`. */
  name: string;
  schedule: string;
  timeZone: string;
  description: string;
  /** `projects/P/topics/T`. */
  topicName: string;
  /** The Cloud Run service whose URL the message names. */
  service: string;
  /** The request the message carries; undefined while the service's URL is not known yet (to be created). */
  request?: RunRequest;
  /** Base64 Pub/Sub data: `encodeData(request)`; undefined when `request` is. */
  data?: string;
  attributes: Record<string, string>;
}

export interface DesiredState {
  deployment: string;
  /** `projects/P/locations/R` (parent of services and jobs). */
  location: string;
  project: string;
  services: ServiceSpec[];
  /** The Cloud Run job of each job-mode notebook. */
  runJobs: RunJobSpec[];
  /**
   * `serviceAccount:EMAIL` of the function: roles/run.invoker on every service,
   * roles/run.jobsExecutorWithOverrides on every Cloud Run job.
   */
  invoker: string;
  topic: { name: string; labels: Record<string, string> };
  jobs: JobSpec[];
  /** The function's trigger: its Cloud Run service and the dead-letter policy its subscription gets. */
  trigger: TriggerSpec;
  /** The notebooks deploy uploads to Cloud Storage (those with a `source:`). */
  notebooks: NotebookObjectSpec[];
}

/** A notebook as the object deploy uploads: content-addressed, so a new content is a new object. */
export interface NotebookObjectSpec {
  /** `gs://BUCKET/OBJECT`. */
  name: string;
  notebook: string;
  bucket: string;
  object: string;
  /** The file read on the deployer's machine, and the SHA-256 (hex) its bytes had when read. */
  file: string;
  sha256: string;
}

/** What the chain from the topic to the function must hold. */
export interface TriggerSpec {
  /** `projects/P/locations/R/services/<function name lowercased>`: the Cloud Run service of a 2nd gen function. */
  functionService: string;
  functionName: string;
  deadLetterTopic: string;
  maxDeliveryAttempts: number;
}

/** The dead-letter topic of a trigger topic (created by the one-time setup). */
export function deadLetterTopicName(project: string, topic: string): string {
  return `projects/${project}/topics/${topic}-dead-letter`;
}

/** Labels every resource of a deployment carries. */
function managedLabels(deployment: string): Record<string, string> {
  return { [MANAGED_BY]: MANAGED_BY_VALUE, [DEPLOYMENT_KEY]: deployment };
}

/** True when labels (or job attributes) mark the resource as made by this deployment. */
export function isManagedBy(marks: Record<string, string> | null | undefined, deployment: string): boolean {
  return marks?.[DEPLOYMENT_KEY] === deployment && marks?.[MANAGED_BY] === MANAGED_BY_VALUE;
}

/** The marker nbtrigger writes at the start of a job description (for a person reading the console). */
function jobDescriptionMarker(deployment: string): string {
  return `[managed by nbtrigger, deployment ${deployment}]`;
}

/**
 * Builds the desired state. `serviceUrls` maps service ids to their `https://…run.app` URL when
 * known (existing services); jobs of services without one carry no request yet.
 */
export function desiredState(m: Manifest, serviceUrls: ReadonlyMap<string, string> = new Map()): DesiredState {
  const location = `projects/${m.project}/locations/${m.region}`;
  const labels = managedLabels(m.name);
  const services = m.notebooks
    .filter((nb) => nb.execution !== 'job')
    .map((nb): ServiceSpec => {
      const s = nb.service;
      const spec: ServiceSpec = {
        name: `${location}/services/${s.name}`,
        serviceId: s.name,
        notebook: nb.name,
        image: s.image ?? '',
        cpu: s.cpu,
        memory: s.memory,
        concurrency: s.concurrency,
        cpuIdle: s.billing === 'request',
        startupCpuBoost: s.startupCpuBoost,
        minInstances: s.minInstances,
        maxInstances: s.maxInstances,
        timeoutSeconds: s.timeoutSeconds,
        tokenSecret: m.tokenSecret,
        labels: { ...s.labels, ...labels },
      };
      if (s.serviceAccount) spec.serviceAccount = s.serviceAccount;
      return spec;
    });
  const topicName = `projects/${m.project}/topics/${m.topic}`;
  const jobs = m.notebooks.flatMap((nb) =>
    nb.schedules.map((sc) => jobSpec(m, nb, sc, location, topicName, serviceUrls.get(nb.service.name))),
  );
  return {
    deployment: m.name,
    location,
    project: m.project,
    services,
    runJobs: runJobSpecs(m.notebooks, location, labels),
    invoker: `serviceAccount:${m.function.serviceAccount}`,
    topic: { name: topicName, labels },
    jobs,
    notebooks: notebookObjects(m),
    trigger: {
      functionService: `${location}/services/${m.function.name.toLowerCase()}`,
      functionName: m.function.name,
      deadLetterTopic: deadLetterTopicName(m.project, m.topic),
      maxDeliveryAttempts: m.function.maxDeliveryAttempts,
    },
  };
}

/** The uploads of the notebooks with a `source:`; each must have been read (deploy/notebook-upload.ts). */
function notebookObjects(m: Manifest): NotebookObjectSpec[] {
  return m.notebooks.flatMap((nb) => {
    const s = nb.source;
    if (s === undefined) return [];
    const { bucket, object, file, sha256 } = s;
    if (object === undefined || sha256 === undefined)
      throw new NbtError('CONFIG', `notebook ${nb.name}: ${file} has not been read`);
    return [{ name: sourceUri(bucket, object), notebook: nb.name, bucket, object, file, sha256 }];
  });
}

/**
 * Answers `m` when every service's image is known; otherwise refuses, naming the services (see
 * {@link unknownImages}).
 */
export function requireImages(m: Manifest): Manifest {
  const unknown = m.notebooks.filter((nb) => nb.service.image === undefined);
  if (unknown.length > 0)
    throw unknownImages(
      m,
      unknown.map((nb) => nb.service.name),
    );
  return m;
}

/** The refusal for `build:` services whose image nobody named: deploying them would point at an image nobody built. */
function unknownImages(m: Manifest, services: string[]): NbtError {
  return new NbtError(
    'CONFIG',
    `no image is known for ${services.map((s) => `service ${s}`).join(', ')} (built from a folder by Cloud Build): ` +
      `pass --built-image ${builtImage(m.region, m.project, 'TAG')} (the image a build pushed), ` +
      `or set service.image in ${m.file}`,
    { details: { services } },
  );
}

/** The Scheduler job id of a schedule (`_` cannot occur in either name, so ids never collide). */
export function jobId(deployment: string, schedule: string): string {
  return `${deployment}_${schedule}`;
}

function jobSpec(
  m: Manifest,
  nb: NotebookSpec,
  sc: ScheduleSpec,
  location: string,
  topicName: string,
  url: string | undefined,
): JobSpec {
  const on = `${nb.execution === 'job' ? 'Cloud Run job ' : ''}${nb.service.name}`;
  const description = `${jobDescriptionMarker(m.name)} ${sc.description ?? `runs ${nb.file} on ${on}`}`;
  const spec: JobSpec = {
    name: `${location}/jobs/${jobId(m.name, sc.name)}`,
    schedule: sc.cron,
    timeZone: sc.timeZone,
    description,
    topicName,
    service: nb.service.name,
    attributes: {
      ...managedLabels(m.name),
      [ATTR_SCHEDULE]: sc.name,
      [ATTR_CONCURRENCY]: sc.concurrency satisfies Concurrency,
    },
  };
  if (nb.execution === 'job') {
    const source = notebookSource(nb);
    spec.data = jobMessageData(nb, sc, `${location}/jobs/${nb.service.name}`, source ? shownUrl(source) : undefined);
  } else if (url !== undefined) {
    spec.request = scheduleRequest(nb, sc, url);
    spec.data = encodeData(spec.request);
  }
  return spec;
}

/** The run request a schedule's message carries: the service over https, the notebook, its options. */
export function scheduleRequest(nb: NotebookSpec, sc: ScheduleSpec, serviceUrl: string): RunRequest {
  const u = new URL(serviceUrl);
  const secure = u.protocol === 'https:';
  const req: RunRequest = {
    server: { host: u.hostname.toLowerCase(), port: u.port === '' ? (secure ? 443 : 80) : Number(u.port), secure },
    notebook: nb.path,
    verbose: false,
    timeouts: { ...(sc.timeouts ?? {}) },
  };
  const source = notebookSource(nb);
  if (source) {
    req.source = source;
    req.notebook = shownUrl(source);
  }
  if (sc.kernelName !== undefined) req.kernelName = sc.kernelName;
  if (sc.parameters !== undefined) req.parameters = sc.parameters;
  if (sc.output !== undefined) req.output = sc.output;
  return req;
}

/** The uploaded `gs://` object a message names as its notebook with a `source:`; none without. */
function notebookSource(nb: NotebookSpec): ExternalRef | undefined {
  const s = nb.source;
  if (s === undefined) return undefined;
  if (s.object === undefined) throw new NbtError('CONFIG', `notebook ${nb.name}: ${s.file} has not been read`);
  const ref = parseSourceRef(sourceUri(s.bucket, s.object), { field: 'source' });
  if (ref.kind === 'server')
    throw new NbtError('CONFIG', `notebook ${nb.name}: ${sourceUri(s.bucket, s.object)} is not a gs:// object`);
  return ref;
}
