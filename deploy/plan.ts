/**
 * The plan: desired state (from the manifest) + actual state (read from the APIs) → the list of
 * create / update / delete / no-op actions, in the order they are applied. Resources that this
 * deployment did not make (no matching labels/attributes) are never changed: a name clash with
 * one is a `conflict`, which `deploy` refuses to apply. Pure: no I/O.
 *
 * The function's trigger subscription gets the dead-letter policy the manifest asks for; the
 * chain each schedule's message travels is checked in deploy/chain.ts. What differs between a wanted
 * resource and the one read back is described in deploy/plan-changes.ts.
 *
 * Spec: docs/deploy.md.
 * @module
 */
import {
  INVOKER_ROLE,
  isManagedBy,
  type DesiredState,
  type JobSpec,
  type NotebookObjectSpec,
  type RunJobSpec,
  type ServiceSpec,
} from './desired.js';
import type { ActualSubscription } from './clients/pubsub.js';
import { conflict, jobChanges, pendingNote, serviceChanges } from './plan-changes.js';
import { planRunJobDeletes, planRunJobUpserts, type ActualRunJob } from './plan-runjobs.js';

export type { ActualSubscription } from './clients/pubsub.js';
export type JobState = 'STATE_UNSPECIFIED' | 'ENABLED' | 'PAUSED' | 'DISABLED' | 'UPDATE_FAILED';

/** A Cloud Run service as read back (only what nbtrigger compares). */
export interface ActualService {
  name: string;
  labels: Record<string, string>;
  image?: string;
  cpu?: string;
  memory?: string;
  /** 0: Cloud Run's default. */
  concurrency?: number;
  cpuIdle?: boolean;
  startupCpuBoost?: boolean;
  minInstances?: number;
  maxInstances?: number;
  timeoutSeconds?: number;
  serviceAccount?: string;
  tokenSecret?: string;
  /** `https://…run.app`. */
  uri?: string;
  /** Every URL the service answers on (`uri` and the deterministic one). */
  urls?: string[];
}

/** A Scheduler job as read back. `data` is base64. */
export interface ActualJob {
  name: string;
  description: string;
  schedule: string;
  timeZone: string;
  topicName?: string;
  data?: string;
  attributes: Record<string, string>;
  state?: JobState;
}

export interface ActualState {
  /** Every service in the location. */
  services: ActualService[];
  /** Members holding roles/run.invoker, per service name (read for existing services nbtrigger wants). */
  invokers: ReadonlyMap<string, string[]>;
  /** Undefined when the topic does not exist. */
  topic?: { name: string; labels: Record<string, string> };
  /** Every job in the location. */
  jobs: ActualJob[];
  /** The subscriptions on the topic (undefined: not read). */
  subscriptions?: ActualSubscription[];
  /** Whether the dead-letter topic exists (undefined: not read). */
  deadLetterTopicExists?: boolean;
  /** The `gs://` notebook objects of the desired state that exist (read only for those). */
  notebookObjects?: ReadonlySet<string>;
  /** Every Cloud Run job in the location (undefined: none read). */
  runJobs?: ActualRunJob[];
  /** Members holding roles/run.jobsExecutorWithOverrides, per Cloud Run job name (existing jobs nbtrigger wants). */
  runJobExecutors?: ReadonlyMap<string, string[]>;
  /** What the reads want the person to know (e.g. IAM policies read one at a time, and why). */
  notes?: string[];
}

export type Op = 'create' | 'update' | 'delete' | 'noop' | 'conflict';
/**
 * `job`: a Cloud Scheduler job; `runjob`: a Cloud Run job; `runjob-iam`: who may start it; `notebook`: a gs://
 * upload.
 */
export type Resource = 'service' | 'iam' | 'topic' | 'job' | 'subscription' | 'runjob' | 'runjob-iam' | 'notebook';

/** One step of a plan. `changes` says what differs (for update) or why (conflict, noop notes). */
export interface Action {
  resource: Resource;
  op: Op;
  /** Full resource name. */
  name: string;
  changes: string[];
  /** What a person should know that is not a change (a paused job). */
  notes?: string[];
  service?: ServiceSpec;
  job?: JobSpec;
  runJob?: RunJobSpec;
  iam?: { add: string[]; remove: string[] };
  deadLetterPolicy?: { deadLetterTopic: string; maxDeliveryAttempts: number };
  upload?: NotebookObjectSpec;
}

/** Members that would make a service public; nbtrigger removes them from roles/run.invoker. */
export const PUBLIC_MEMBERS: readonly string[] = ['allUsers', 'allAuthenticatedUsers'];

/** True when applying the plan would call a mutating API. */
export function isMutating(a: Action): boolean {
  return a.op === 'create' || a.op === 'update' || a.op === 'delete';
}

/** The plan for `deploy`: services, their IAM, the topic, the jobs, then prunes (jobs before services). */
export function planDeploy(desired: DesiredState, actual: ActualState): Action[] {
  const d = desired.deployment;
  const byName = new Map(actual.services.map((s) => [s.name, s]));
  const serviceActions = desired.services.map((spec) => planService(spec, byName.get(spec.name), d));
  const iamActions = desired.services.map((spec, i) =>
    planIam(spec, serviceActions[i]!, actual.invokers.get(spec.name), desired.invoker),
  );
  const topic: Action = actual.topic
    ? {
        resource: 'topic',
        op: 'noop',
        name: desired.topic.name,
        changes: isManagedBy(actual.topic.labels, d) ? [] : ['exists (not made by nbtrigger: used as is)'],
      }
    : { resource: 'topic', op: 'create', name: desired.topic.name, changes: [] };
  const wanted = new Set(desired.services.map((s) => s.name));
  const serviceDeletes = actual.services
    .filter((s) => !wanted.has(s.name) && isManagedBy(s.labels, d))
    .map((s): Action => ({ resource: 'service', op: 'delete', name: s.name, changes: ['no longer in the manifest'] }));
  const runJobs = actual.runJobs ?? [];
  const wantedRunJobs = new Set(desired.runJobs.map((j) => j.name));
  const runJobDeletes = planRunJobDeletes(d, runJobs, wantedRunJobs, ['no longer in the manifest']);
  return [
    ...planNotebooks(desired, actual),
    ...serviceActions,
    ...iamActions.filter((a): a is Action => a !== undefined),
    ...planRunJobUpserts(desired, runJobs, actual.runJobExecutors ?? new Map()),
    topic,
    ...planTrigger(desired, actual),
    ...planJobs(desired, actual.jobs),
    ...runJobDeletes,
    ...serviceDeletes,
  ];
}

/**
 * An upload for each notebook object that does not exist yet. Objects are content-addressed: one
 * that exists holds that content, so it is no change and gets no line.
 */
function planNotebooks(desired: DesiredState, actual: ActualState): Action[] {
  return desired.notebooks
    .filter((n) => !actual.notebookObjects?.has(n.name))
    .map(
      (n): Action => ({
        resource: 'notebook',
        op: 'create',
        name: n.name,
        upload: n,
        changes: [`upload ${n.file} (sha256 ${n.sha256.slice(0, 16)}…)`],
      }),
    );
}

/** The subscriptions on the topic that push to the function (Eventarc's `eventarc-REGION-…`). */
export function triggerSubscriptions(desired: DesiredState, actual: ActualState): ActualSubscription[] {
  const fn = actual.services.find((s) => s.name === desired.trigger.functionService);
  const hosts = new Set((fn?.urls ?? (fn?.uri ? [fn.uri] : [])).map(hostOf));
  return (actual.subscriptions ?? []).filter((s) => s.pushEndpoint !== undefined && hosts.has(hostOf(s.pushEndpoint)));
}

/**
 * Sets the dead-letter policy on each trigger subscription that lacks it (the chain check reports a missing
 * trigger).
 */
function planTrigger(desired: DesiredState, actual: ActualState): Action[] {
  const want = {
    deadLetterTopic: desired.trigger.deadLetterTopic,
    maxDeliveryAttempts: desired.trigger.maxDeliveryAttempts,
  };
  return triggerSubscriptions(desired, actual).map((s): Action => {
    const cur = s.deadLetterPolicy;
    const same = cur?.deadLetterTopic === want.deadLetterTopic && cur.maxDeliveryAttempts === want.maxDeliveryAttempts;
    const showPolicy = (p: typeof cur): string =>
      p ? `${p.deadLetterTopic} after ${p.maxDeliveryAttempts} attempts` : '(none)';
    return {
      resource: 'subscription',
      op: same ? 'noop' : 'update',
      name: s.name,
      changes: same ? [] : [`deadLetterPolicy: ${showPolicy(cur)} → ${showPolicy(want)}`],
      deadLetterPolicy: want,
    };
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return url;
  }
}

/** Job actions alone (deploy re-plans them once new services have their URLs): upserts, then prunes. */
export function planJobs(desired: DesiredState, jobs: ActualJob[]): Action[] {
  const d = desired.deployment;
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const upserts = desired.jobs.map((spec): Action => {
    const cur = byName.get(spec.name);
    if (!cur) return { resource: 'job', op: 'create', name: spec.name, changes: pendingNote(spec), job: spec };
    if (!isManagedBy(cur.attributes, d)) return conflict('job', spec.name, d);
    const changes = jobChanges(spec, cur);
    if (cur.state === 'UPDATE_FAILED')
      changes.push('state: UPDATE_FAILED (the last update did not take) → the update is applied again');
    const a: Action = {
      resource: 'job',
      op: changes.length > 0 ? 'update' : 'noop',
      name: spec.name,
      changes,
      job: spec,
    };
    if (cur.state === 'PAUSED')
      a.notes = ['PAUSED: left paused (deploy does not resume a job paused by hand; gcloud scheduler jobs resume)'];
    if (cur.state === 'DISABLED') a.notes = ['DISABLED by Cloud Scheduler: it publishes nothing until it is resumed'];
    return a;
  });
  const wanted = new Set(desired.jobs.map((j) => j.name));
  const prunes = jobs
    .filter((j) => !wanted.has(j.name) && isManagedBy(j.attributes, d))
    .map((j): Action => ({ resource: 'job', op: 'delete', name: j.name, changes: ['no longer in the manifest'] }));
  return [...upserts, ...prunes];
}

/** The plan for `destroy`: every job, service and (if nbtrigger made it) the topic of this deployment. */
export function planDestroy(deployment: string, topicName: string, actual: ActualState): Action[] {
  const jobs = actual.jobs
    .filter((j) => isManagedBy(j.attributes, deployment))
    .map((j): Action => ({ resource: 'job', op: 'delete', name: j.name, changes: [] }));
  const services = actual.services
    .filter((s) => isManagedBy(s.labels, deployment))
    .map((s): Action => ({ resource: 'service', op: 'delete', name: s.name, changes: [] }));
  const topic: Action[] = !actual.topic
    ? []
    : isManagedBy(actual.topic.labels, deployment)
      ? [{ resource: 'topic', op: 'delete', name: topicName, changes: [] }]
      : [{ resource: 'topic', op: 'noop', name: topicName, changes: ['not made by nbtrigger: kept'] }];
  return [...jobs, ...planRunJobDeletes(deployment, actual.runJobs ?? [], new Set(), []), ...services, ...topic];
}

function planService(spec: ServiceSpec, cur: ActualService | undefined, deployment: string): Action {
  if (!cur) return { resource: 'service', op: 'create', name: spec.name, changes: [], service: spec };
  if (!isManagedBy(cur.labels, deployment)) return conflict('service', spec.name, deployment);
  const changes = serviceChanges(spec, cur);
  return { resource: 'service', op: changes.length > 0 ? 'update' : 'noop', name: spec.name, changes, service: spec };
}

function planIam(
  spec: ServiceSpec,
  serviceAction: Action,
  members: string[] | undefined,
  invoker: string,
): Action | undefined {
  if (serviceAction.op === 'conflict') return undefined;
  const current = serviceAction.op === 'create' ? [] : (members ?? []);
  const add = current.includes(invoker) ? [] : [invoker];
  const remove = current.filter((m) => PUBLIC_MEMBERS.includes(m));
  const changes = [
    ...add.map((m) => `+ ${INVOKER_ROLE} ${m}`),
    ...remove.map((m) => `- ${INVOKER_ROLE} ${m} (the service is not public)`),
  ];
  return {
    resource: 'iam',
    op: changes.length > 0 ? 'update' : 'noop',
    name: spec.name,
    changes,
    iam: { add, remove },
  };
}
