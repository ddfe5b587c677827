/**
 * Reads the actual state from the APIs and applies a plan: Cloud Run services (waiting on each long-running
 * operation) and their invoker IAM, the topic, then the Scheduler jobs, re-planned once new services have their
 * URLs (a job's message names its service's URL), then prunes. A plan with a conflict, or a chain with a broken
 * link (deploy/chain.ts), is refused before anything changes (deploy/apply-refusals.ts). A second deploy with no
 * change makes no mutating call. A call refused (PERMISSION_DENIED) right after a grant of the same deploy is
 * tried again within a bounded window, as IAM changes take minutes to take effect (deploy/iam-propagation.ts).
 *
 * Spec: docs/deploy.md.
 * @module
 */
import { NbtError, toNbtError } from '../functions/errors.js';
import { refuseBrokenChain, refuseConflicts, refuseJobWrite, refuseQuotas } from './apply-refusals.js';
import { chains, type Chain } from './chain.js';
import { desiredState, INVOKER_ROLE, isManagedBy, requireImages, type DesiredState } from './desired.js';
import { GrantWatch, type PropagationOptions } from './iam-propagation.js';
import { withImages } from './image.js';
import type { Manifest } from './manifest.js';
import { isMutating, planDeploy, planDestroy, planJobs, type Action, type ActualState } from './plan.js';
import type { DeployClients } from './clients/index.js';
import { planCounts, quotaFindings, renderQuotas, type QuotaFinding } from './quotas.js';
import { DEFAULT_PACING, forEachBounded, withQuotaRetry, type Pacing } from './pacing.js';
import { createService, deleteService, updateInvokers, updateService } from './clients/run.js';
import { createJob, deleteJob, updateJob } from './clients/scheduler.js';
import { createTopic, deleteTopic, setDeadLetterPolicy } from './clients/pubsub.js';
import { readNotebookSources, uploadNotebook } from './notebook-upload.js';
import { readActual } from './read-actual.js';
import { applyRunJobUpserts, deleteRunJobOf, runningJobImages } from './apply-runjobs.js';
export { allowedServers } from './allowed-servers.js';

/** Progress callback: one line per action as it starts/finishes. */
export type Reporter = (line: string) => void;

/** What a plan command needs: the desired and actual states and the actions between them. */
export interface Planned {
  desired: DesiredState;
  actual: ActualState;
  actions: Action[];
  chains: Chain[];
  /** The documented quotas this plan meets (deploy/quotas.ts). */
  quotas: QuotaFinding[];
  /** The manifest planned, its `source:` notebooks read and named by their content. */
  manifest: Manifest;
}

/** What deploy and plan are told besides the manifest. */
export interface DeployOptions {
  /** `--built-image`: the image every `build:` service runs. */
  builtImage?: string;
  /** The wait for this deploy's IAM grants to take effect (window, backoff); default: 7 minutes. */
  iamPropagation?: PropagationOptions;
  /** Concurrency and quota backoff of deploy's calls (deploy/pacing.ts); {@link DEFAULT_PACING} by default. */
  pacing?: Partial<Pacing>;
  /**
   * `--live-iam`: read every service's invoker policy from Cloud Run, not from the Cloud Asset
   * index (deploy/read-invokers.ts).
   */
  liveIam?: boolean;
  /** Told after each change is applied or has failed: how many are finished, of how many, how many failed. */
  progress?: (finished: number, total: number, failed: number) => void;
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
  const running = runningJobImages(actual.runJobs ?? [], m.name);
  for (const s of actual.services) {
    if (s.image && isManagedBy(s.labels, m.name)) running.set(s.name.slice(s.name.lastIndexOf('/') + 1), s.image);
  }
  return requireImages(withImages(m, opts.builtImage, running));
}

/** `nbtrigger plan`: reads, changes nothing. */
export async function planFor(clients: DeployClients, manifest: Manifest, opts: DeployOptions = {}): Promise<Planned> {
  const m = await readNotebookSources(manifest);
  const actual = await readActual(clients, m, { live: opts.liveIam === true });
  const desired = desiredState(resolveImages(m, actual, opts), serviceUrls(actual));
  const actions = planDeploy(desired, actual);
  return {
    desired,
    actual,
    actions,
    chains: chains(desired, actual, actions),
    quotas: quotaFindings(planCounts(actual, actions)),
    manifest: m,
  };
}

/** A resource deploy could not change, with why. */
export interface Failure {
  resource: Action['resource'];
  name: string;
  error: NbtError;
}

/** What a deploy did, and the URL of each of its services. */
export interface Deployed {
  /** The actions applied (and the unchanged ones); a failed one is in `failures` instead. */
  actions: Action[];
  /** Service id → URL, for the manifest's services. */
  urls: Map<string, string>;
  /** What could not be applied: the rest was. A second deploy tries them again. */
  failures: Failure[];
}

/** `nbtrigger deploy`: answers the actions as applied (jobs with their final messages); throws when any failed. */
export async function applyDeploy(
  clients: DeployClients,
  m: Manifest,
  report: Reporter = () => {},
  opts: DeployOptions = {},
): Promise<Action[]> {
  const done = await deploy(clients, m, report, opts);
  if (done.failures.length > 0) throw partialFailure(done);
  return done.actions;
}

/** One error naming every resource a deploy could not change (and how many it did change). */
export function partialFailure(d: Deployed): NbtError {
  const codes = new Set(d.failures.map((f) => f.error.code));
  const code =
    codes.size === 1
      ? d.failures[0]!.error.code
      : d.failures.some((f) => f.error.retryable)
        ? 'SERVER_ERROR'
        : 'REQUEST_REJECTED';
  const applied = d.actions.filter(isMutating).length;
  return new NbtError(
    code,
    `${d.failures.length} change(s) failed, ${applied} applied; run deploy again to finish:\n  ` +
      d.failures.map((f) => `${f.resource} ${f.name}: ${f.error.message}`).join('\n  '),
    { details: { failed: d.failures.map((f) => ({ resource: f.resource, name: f.name, code: f.error.code })) } },
  );
}

/**
 * `nbtrigger deploy`, with the URLs of the deployment's services. Calls run at most
 * `pacing.concurrency` at a time and a rate-quota refusal is retried after the server's delay
 * (deploy/pacing.ts); a change that still fails is recorded in `failures` and the others are
 * applied (a job whose new service failed is not written: it would have no URL to call).
 */
export async function deploy(
  clients: DeployClients,
  manifest: Manifest,
  report: Reporter = () => {},
  opts: DeployOptions = {},
): Promise<Deployed> {
  const planned = await planFor(clients, manifest, opts);
  const m = planned.manifest;
  const { actual, actions, desired } = planned;
  refuseConflicts(actions);
  refuseBrokenChain(planned);
  refuseQuotas(planned.quotas);
  for (const n of actual.notes ?? []) report(`note: ${n}`);
  for (const q of planned.quotas) report(renderQuotas([q]).trimEnd());
  const pacing: Pacing = { ...DEFAULT_PACING, ...opts.pacing };
  const resolved = resolveImages(m, actual, opts);
  const urls = serviceUrls(actual);
  const done: Action[] = [];
  // This deploy's grants; a call refused right after one waits for it (bounded), others fail at once.
  const iam = new GrantWatch({
    onWait: (what, attempt, ms) =>
      report(
        "permission denied right after this deploy's IAM grant; " +
          `trying again in ${Math.ceil(ms / 1000)} s (attempt ${attempt}): ${what}`,
      ),
    ...opts.iamPropagation,
  });
  const failures: Failure[] = [];
  const failedServices = new Set<string>();
  const failedNotebooks = new Set<string>();
  const nonJob = actions.filter((a) => a.resource !== 'job');
  let total = [...nonJob, ...actions.filter((a) => a.resource === 'job')].filter(isMutating).length;
  let finished = 0;
  const apply = async (a: Action, fn: () => Promise<void>): Promise<void> => {
    if (!isMutating(a)) {
      done.push(a);
      return;
    }
    report(`${a.op} ${a.resource} ${a.name}`);
    try {
      const what = `${a.op} ${a.resource} ${a.name}`;
      await withQuotaRetry(what, () => iam.call(what, fn), pacing);
      done.push(a);
    } catch (e) {
      const error = toNbtError(e);
      failures.push({ resource: a.resource, name: a.name, error });
      if (a.resource === 'service' || a.resource === 'runjob') failedServices.add(a.name);
      if (a.resource === 'notebook') failedNotebooks.add(a.name);
      report(`FAILED ${a.op} ${a.resource} ${a.name}: ${error.message}`);
    }
    opts.progress?.(++finished, total, failures.length);
  };
  // Notebooks first: a job's message names its notebook's object, which must exist before the job does.
  const uploads = actions.filter((a) => a.resource === 'notebook');
  await forEachBounded(uploads, pacing.concurrency, (a) =>
    apply(a, async () => {
      const done = a.upload && (await uploadNotebook(clients.storage, a.upload));
      if (done === 'exists') report(`${a.name} exists already (uploaded by another deploy)`);
    }),
  );
  const serviceUpserts = actions.filter((a) => a.resource === 'service' && a.op !== 'delete');
  await forEachBounded(serviceUpserts, pacing.concurrency, (a) =>
    apply(a, async () => {
      if (!a.service || (a.op !== 'create' && a.op !== 'update')) return;
      const after =
        a.op === 'create' ? await createService(clients.run, a.service) : await updateService(clients.run, a.service);
      if (after.uri) urls.set(a.service.serviceId, after.uri);
    }),
  );
  // The invoker policy of a service that failed is not written (the service may not exist): not counted either.
  total -= actions.filter((a) => a.resource === 'iam' && failedServices.has(a.name) && isMutating(a)).length;
  const invokers = actions.filter((a) => a.resource === 'iam' && !failedServices.has(a.name));
  await forEachBounded(invokers, pacing.concurrency, (a) => {
    // Noted once, before the call (not in what a retry runs again): the policies are written side
    // by side, and a call refused while this grant is in flight waits for it as for one already made.
    if (a.op === 'update' && a.iam && a.iam.add.length > 0) iam.granted(INVOKER_ROLE, a.iam.add, a.name);
    return apply(a, async () => {
      if (a.op === 'update' && a.iam) await updateInvokers(clients.run, a.name, a.iam.add, a.iam.remove);
    });
  });
  const failed = (name: string): boolean => failedServices.has(name);
  total -= await applyRunJobUpserts(clients, m, actions, apply, iam, pacing.concurrency, failed);
  for (const a of actions.filter((x) => x.resource === 'topic' || x.resource === 'subscription')) {
    await apply(a, async () => {
      if (a.resource === 'topic' && a.op === 'create') await createTopic(clients.pubsub, a.name, desired.topic.labels);
      else if (a.resource === 'subscription' && a.op === 'update' && a.deadLetterPolicy)
        await setDeadLetterPolicy(clients.pubsub, a.name, a.deadLetterPolicy);
    });
  }
  const jobActions = planJobs(desiredState(resolved, urls), actual.jobs);
  refuseConflicts(jobActions);
  total += jobActions.filter(isMutating).length - actions.filter((a) => a.resource === 'job' && isMutating(a)).length;
  await forEachBounded(jobActions, pacing.concurrency, (a) =>
    apply(a, async () => {
      refuseJobWrite(a, desired.location, failedServices, failedNotebooks);
      if (a.op === 'create' && a.job) await createJob(clients.scheduler, a.job);
      else if (a.op === 'update' && a.job) await updateJob(clients.scheduler, a.job);
      else if (a.op === 'delete') await deleteJob(clients.scheduler, a.name);
    }),
  );
  const isDelete = (a: Action): boolean => (a.resource === 'service' || a.resource === 'runjob') && a.op === 'delete';
  await forEachBounded(actions.filter(isDelete), pacing.concurrency, (a) =>
    apply(a, () => (a.resource === 'runjob' ? deleteRunJobOf(clients, m, a.name) : deleteService(clients.run, a.name))),
  );
  const own = new Map(
    m.notebooks.flatMap((nb) =>
      urls.has(nb.service.name) ? [[nb.service.name, urls.get(nb.service.name)!] as const] : [],
    ),
  );
  // Calls finish in any order: answer the actions in plan order.
  const deletes = nonJob.filter(isDelete);
  const order = new Map(
    [...nonJob.filter((a) => !deletes.includes(a)), ...jobActions, ...deletes].map((a, i) => [a, i]),
  );
  done.sort((x, y) => (order.get(x) ?? 0) - (order.get(y) ?? 0));
  return { actions: done, urls: own, failures };
}

/** The plan `nbtrigger destroy` would apply. Read-only. */
export async function planDestroyFor(clients: DeployClients, m: Manifest): Promise<Action[]> {
  return planDestroy(m.name, `projects/${m.project}/topics/${m.topic}`, await readActual(clients, m));
}

/** `nbtrigger destroy`: deletes this deployment's jobs, services and (if nbtrigger made it) topic. */
export async function applyDestroy(
  clients: DeployClients,
  m: Manifest,
  report: Reporter = () => {},
): Promise<Action[]> {
  const actions = await planDestroyFor(clients, m);
  for (const a of actions) {
    if (a.op !== 'delete') continue;
    report(`delete ${a.resource} ${a.name}`);
    if (a.resource === 'job') await deleteJob(clients.scheduler, a.name);
    else if (a.resource === 'service') await deleteService(clients.run, a.name);
    else if (a.resource === 'runjob') await deleteRunJobOf(clients, m, a.name);
    else if (a.resource === 'topic') await deleteTopic(clients.pubsub, a.name);
  }
  return actions;
}
