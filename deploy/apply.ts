/**
 * Reads the actual state from the APIs and applies a plan: Cloud Run services (waiting on each
 * long-running operation) and their invoker IAM, the topic, then the Scheduler jobs, re-planned
 * once new services have their URLs (a job's message names its service's URL), then prunes.
 * A plan with a conflict, or a chain with a broken link (deploy/chain.ts), is refused before
 * anything changes. A second deploy with no change makes no mutating call. A call refused
 * (PERMISSION_DENIED) right after a grant of the same deploy is tried again within a bounded
 * window, as IAM changes take minutes to take effect (deploy/iam-propagation.ts).
 *
 * Spec: docs/deploy.md.
 * @module
 */
import { NbtError } from '../functions/errors.js';
import { chains, chainErrors, triggerLinks, type Chain } from './chain.js';
import { deadLetterTopicName, desiredState, INVOKER_ROLE, isManagedBy, requireImages, type DesiredState } from './desired.js';
import { GrantWatch, type PropagationOptions } from './iam-propagation.js';
import { withImages } from './image.js';
import type { Manifest } from './manifest.js';
import { isMutating, planDeploy, planDestroy, planJobs, type Action, type ActualState } from './plan.js';
import type { DeployClients } from './clients/index.js';
import { createService, deleteService, getInvokers, listServices, updateInvokers, updateService } from './clients/run.js';
import { createJob, deleteJob, listJobs, updateJob } from './clients/scheduler.js';
import { createTopic, deleteTopic, getTopic, listTopicSubscriptions, setDeadLetterPolicy } from './clients/pubsub.js';

/** Progress callback: one line per action as it starts/finishes. */
export type Reporter = (line: string) => void;

/** What a plan command needs: the desired and actual states and the actions between them. */
export interface Planned {
  desired: DesiredState;
  actual: ActualState;
  actions: Action[];
  chains: Chain[];
}

/** What deploy and plan are told besides the manifest. */
export interface DeployOptions {
  /** `--built-image`: the image every `build:` service runs. */
  builtImage?: string;
  /** The wait for this deploy's IAM grants to take effect (window, backoff); default: 7 minutes. */
  iamPropagation?: PropagationOptions;
}

/** Reads services, their invokers (for wanted services that exist), the topic and jobs. Read-only. */
async function readActual(clients: DeployClients, m: Manifest): Promise<ActualState> {
  const location = `projects/${m.project}/locations/${m.region}`;
  const topicName = `projects/${m.project}/topics/${m.topic}`;
  const [services, jobs, topic, subscriptions, deadLetter] = await Promise.all([
    listServices(clients.run, location),
    listJobs(clients.scheduler, location),
    getTopic(clients.pubsub, topicName),
    listTopicSubscriptions(clients.pubsub, topicName),
    getTopic(clients.pubsub, deadLetterTopicName(m.project, m.topic)),
  ]);
  const wanted = new Set(m.notebooks.map((n) => `${location}/services/${n.service.name}`));
  const invokers = new Map<string, string[]>();
  await Promise.all(services.filter((s) => wanted.has(s.name)).map(async (s) => {
    invokers.set(s.name, await getInvokers(clients.run, s.name));
  }));
  const out: ActualState = { services, invokers, jobs, subscriptions, deadLetterTopicExists: deadLetter !== undefined };
  if (topic) out.topic = topic;
  return out;
}

/** Service id → URL of the services that have one. */
export function serviceUrls(actual: ActualState): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of actual.services) if (s.uri) out.set(s.name.slice(s.name.lastIndexOf('/') + 1), s.uri);
  return out;
}

/**
 * The manifest with its images known ({@link withImages}): `--built-image`, the manifest, or
 * what this deployment's service runs now. A `build:` service still without one is refused.
 */
function resolveImages(m: Manifest, actual: ActualState, opts: DeployOptions): Manifest {
  const running = new Map<string, string>();
  for (const s of actual.services) {
    if (s.image && isManagedBy(s.labels, m.name)) running.set(s.name.slice(s.name.lastIndexOf('/') + 1), s.image);
  }
  return requireImages(withImages(m, opts.builtImage, running));
}

/** `nbtrigger plan`: reads, changes nothing. */
export async function planFor(clients: DeployClients, m: Manifest, opts: DeployOptions = {}): Promise<Planned> {
  const actual = await readActual(clients, m);
  const desired = desiredState(resolveImages(m, actual, opts), serviceUrls(actual));
  const actions = planDeploy(desired, actual);
  return { desired, actual, actions, chains: chains(desired, actual, actions) };
}

/** Throws when a link deploy cannot mend is broken (no function, no trigger, no dead-letter topic). */
function refuseBrokenChain(p: Planned): void {
  const broken = chainErrors([...p.chains, { job: '', links: triggerLinks(p.desired, p.actual, p.actions) }]).filter((l) => l.kind !== 'job' && l.kind !== 'service');
  if (broken.length === 0) return;
  throw new NbtError('REQUEST_REJECTED', `refusing to deploy: the chain to the function is broken:\n  ${broken.map((l) => `${l.kind} ${l.name}: ${l.detail}`).join('\n  ')}`,
    { details: { broken: broken.map((l) => l.name) } });
}

/** What a deploy did, and the URL of each of its services. */
export interface Deployed {
  actions: Action[];
  /** Service id → URL, for the manifest's services. */
  urls: Map<string, string>;
}

/** Throws when the plan holds a conflict (a resource of that name that nbtrigger did not make). */
function refuseConflicts(actions: Action[]): void {
  const conflicts = actions.filter((a) => a.op === 'conflict');
  if (conflicts.length === 0) return;
  throw new NbtError('REQUEST_REJECTED', `refusing to deploy: ${conflicts.map((c) => `${c.resource} ${c.name} ${c.changes.join('; ')}`).join('\n  ')}`,
    { details: { conflicts: conflicts.map((c) => c.name) } });
}

/** `nbtrigger deploy`: answers the actions as applied (jobs with their final messages). */
export async function applyDeploy(clients: DeployClients, m: Manifest, report: Reporter = () => {}, opts: DeployOptions = {}): Promise<Action[]> {
  return (await deploy(clients, m, report, opts)).actions;
}

/** `nbtrigger deploy`, with the URLs of the deployment's services. */
export async function deploy(clients: DeployClients, m: Manifest, report: Reporter = () => {}, opts: DeployOptions = {}): Promise<Deployed> {
  const planned = await planFor(clients, m, opts);
  const { actual, actions, desired } = planned;
  refuseConflicts(actions);
  refuseBrokenChain(planned);
  const resolved = resolveImages(m, actual, opts);
  const urls = serviceUrls(actual);
  const done: Action[] = [];
  // This deploy's grants; a call refused right after one waits for it (bounded), others fail at once.
  const iam = new GrantWatch({
    onWait: (what, attempt, ms) => report('permission denied right after this deploy\'s IAM grant; ' +
      `trying again in ${Math.ceil(ms / 1000)} s (attempt ${attempt}): ${what}`),
    ...opts.iamPropagation,
  });
  for (const a of actions) {
    if (a.resource === 'job' || (a.resource === 'service' && a.op === 'delete')) continue;
    if (isMutating(a)) report(`${a.op} ${a.resource} ${a.name}`);
    const what = `${a.op} ${a.resource} ${a.name}`;
    if (a.resource === 'service' && a.service && (a.op === 'create' || a.op === 'update')) {
      const spec = a.service;
      const write = a.op === 'create' ? createService : updateService;
      const after = await iam.call(what, () => write(clients.run, spec));
      if (after.uri) urls.set(spec.serviceId, after.uri);
    } else if (a.resource === 'iam' && a.op === 'update' && a.iam) {
      const change = a.iam;
      await iam.call(what, () => updateInvokers(clients.run, a.name, change.add, change.remove));
      if (change.add.length > 0) iam.granted(INVOKER_ROLE, change.add, a.name);
    } else if (a.resource === 'topic' && a.op === 'create') {
      await iam.call(what, () => createTopic(clients.pubsub, a.name, desired.topic.labels));
    } else if (a.resource === 'subscription' && a.op === 'update' && a.deadLetterPolicy) {
      const policy = a.deadLetterPolicy;
      await iam.call(what, () => setDeadLetterPolicy(clients.pubsub, a.name, policy));
    }
    done.push(a);
  }
  const jobActions = planJobs(desiredState(resolved, urls), actual.jobs);
  refuseConflicts(jobActions);
  for (const a of jobActions) {
    if (isMutating(a)) report(`${a.op} ${a.resource} ${a.name}`);
    const what = `${a.op} ${a.resource} ${a.name}`;
    const job = a.job;
    if (a.op === 'create' && job) await iam.call(what, () => createJob(clients.scheduler, job));
    else if (a.op === 'update' && job) await iam.call(what, () => updateJob(clients.scheduler, job));
    else if (a.op === 'delete') await iam.call(what, () => deleteJob(clients.scheduler, a.name));
    done.push(a);
  }
  for (const a of actions.filter((x) => x.resource === 'service' && x.op === 'delete')) {
    report(`delete service ${a.name}`);
    await iam.call(`delete service ${a.name}`, () => deleteService(clients.run, a.name));
    done.push(a);
  }
  const own = new Map(m.notebooks.flatMap((nb) => (urls.has(nb.service.name) ? [[nb.service.name, urls.get(nb.service.name)!] as const] : [])));
  return { actions: done, urls: own };
}

/**
 * The servers the deployment's function may call: each of its services as `host:port` (from the
 * service's URL), then the manifest's `function.allowedServers`. Nothing else.
 */
export function allowedServers(m: Manifest, urls: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const nb of m.notebooks) {
    const url = urls.get(nb.service.name);
    if (url === undefined) continue;
    const u = new URL(url);
    out.push(`${u.hostname.toLowerCase()}:${u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : u.port}`);
  }
  out.push(...m.function.allowedServers);
  return [...new Set(out)];
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
