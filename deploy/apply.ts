/**
 * Reads the actual state from the APIs and applies a plan: Cloud Run services (waiting on each
 * long-running operation) and their invoker IAM, the topic, then the Scheduler jobs, re-planned
 * once new services have their URLs (a job's message names its service's URL), then prunes.
 * A plan with a conflict is refused before anything changes. A second deploy with no change
 * makes no mutating call.
 *
 * Spec: issue 4 ("Commands": plan, deploy, destroy).
 * @module
 */
import { NbtError } from '../functions/errors.js';
import { desiredState, type DesiredState } from './desired.js';
import type { Manifest } from './manifest.js';
import { isMutating, planDeploy, planDestroy, planJobs, type Action, type ActualState } from './plan.js';
import type { DeployClients } from './clients/index.js';
import { createService, deleteService, getInvokers, listServices, updateInvokers, updateService } from './clients/run.js';
import { createJob, deleteJob, listJobs, updateJob } from './clients/scheduler.js';
import { createTopic, deleteTopic, getTopic } from './clients/pubsub.js';

/** Progress callback: one line per action as it starts/finishes. */
export type Reporter = (line: string) => void;

/** What a plan command needs: the desired and actual states and the actions between them. */
export interface Planned {
  desired: DesiredState;
  actual: ActualState;
  actions: Action[];
}

/** Reads services, their invokers (for wanted services that exist), the topic and jobs. Read-only. */
export async function readActual(clients: DeployClients, m: Manifest): Promise<ActualState> {
  const location = `projects/${m.project}/locations/${m.region}`;
  const [services, jobs, topic] = await Promise.all([
    listServices(clients.run, location),
    listJobs(clients.scheduler, location),
    getTopic(clients.pubsub, `projects/${m.project}/topics/${m.topic}`),
  ]);
  const wanted = new Set(m.notebooks.map((n) => `${location}/services/${n.service.name}`));
  const invokers = new Map<string, string[]>();
  await Promise.all(services.filter((s) => wanted.has(s.name)).map(async (s) => {
    invokers.set(s.name, await getInvokers(clients.run, s.name));
  }));
  const out: ActualState = { services, invokers, jobs };
  if (topic) out.topic = topic;
  return out;
}

/** Service id → URL of the services that have one. */
export function serviceUrls(actual: ActualState): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of actual.services) if (s.uri) out.set(s.name.slice(s.name.lastIndexOf('/') + 1), s.uri);
  return out;
}

/** `nbtrigger plan`: reads, changes nothing. */
export async function planFor(clients: DeployClients, m: Manifest): Promise<Planned> {
  const actual = await readActual(clients, m);
  const desired = desiredState(m, serviceUrls(actual));
  return { desired, actual, actions: planDeploy(desired, actual) };
}

/** Throws when the plan holds a conflict (a resource of that name that nbtrigger did not make). */
export function refuseConflicts(actions: Action[]): void {
  const conflicts = actions.filter((a) => a.op === 'conflict');
  if (conflicts.length === 0) return;
  throw new NbtError('REQUEST_REJECTED', `refusing to deploy: ${conflicts.map((c) => `${c.resource} ${c.name} ${c.changes.join('; ')}`).join('\n  ')}`,
    { details: { conflicts: conflicts.map((c) => c.name) } });
}

/** `nbtrigger deploy`: answers the actions as applied (jobs with their final messages). */
export async function applyDeploy(clients: DeployClients, m: Manifest, report: Reporter = () => {}): Promise<Action[]> {
  const { actual, actions } = await planFor(clients, m);
  refuseConflicts(actions);
  const urls = serviceUrls(actual);
  const done: Action[] = [];
  for (const a of actions) {
    if (a.resource === 'job' || (a.resource === 'service' && a.op === 'delete')) continue;
    if (isMutating(a)) report(`${a.op} ${a.resource} ${a.name}`);
    if (a.resource === 'service' && a.service && (a.op === 'create' || a.op === 'update')) {
      const after = a.op === 'create' ? await createService(clients.run, a.service) : await updateService(clients.run, a.service);
      if (after.uri) urls.set(a.service.serviceId, after.uri);
    } else if (a.resource === 'iam' && a.op === 'update' && a.iam) {
      await updateInvokers(clients.run, a.name, a.iam.add, a.iam.remove);
    } else if (a.resource === 'topic' && a.op === 'create') {
      await createTopic(clients.pubsub, a.name, desiredState(m).topic.labels);
    }
    done.push(a);
  }
  const jobActions = planJobs(desiredState(m, urls), actual.jobs);
  refuseConflicts(jobActions);
  for (const a of jobActions) {
    if (isMutating(a)) report(`${a.op} ${a.resource} ${a.name}`);
    if (a.op === 'create' && a.job) await createJob(clients.scheduler, a.job);
    else if (a.op === 'update' && a.job) await updateJob(clients.scheduler, a.job);
    else if (a.op === 'delete') await deleteJob(clients.scheduler, a.name);
    done.push(a);
  }
  for (const a of actions.filter((x) => x.resource === 'service' && x.op === 'delete')) {
    report(`delete service ${a.name}`);
    await deleteService(clients.run, a.name);
    done.push(a);
  }
  return done;
}

/** The plan `nbtrigger destroy` would apply. Read-only. */
export async function planDestroyFor(clients: DeployClients, m: Manifest): Promise<Action[]> {
  return planDestroy(m.name, `projects/${m.project}/topics/${m.topic}`, await readActual(clients, m));
}

/** `nbtrigger destroy`: deletes this deployment's jobs, services and (if nbtrigger made it) topic. */
export async function applyDestroy(clients: DeployClients, m: Manifest, report: Reporter = () => {}): Promise<Action[]> {
  const actions = await planDestroyFor(clients, m);
  for (const a of actions) {
    if (a.op !== 'delete') continue;
    report(`delete ${a.resource} ${a.name}`);
    if (a.resource === 'job') await deleteJob(clients.scheduler, a.name);
    else if (a.resource === 'service') await deleteService(clients.run, a.name);
    else if (a.resource === 'topic') await deleteTopic(clients.pubsub, a.name);
  }
  return actions;
}
