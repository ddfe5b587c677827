/**
 * Cloud Run Admin API v2 (the @google-cloud/run ServicesClient) for deploy: list services,
 * create / update / delete a service and wait on the long-running operation, read and update
 * who may invoke it (roles/run.invoker). The client is injected, so tests point it at a local server.
 *
 * An update is a read-modify-write of the fields nbtrigger owns (docs/deploy.md, "Updates"):
 * the service is read, those fields are set on what was read, and it is sent back with the etag
 * read and an update mask, so fields and annotations set by hand are kept and a concurrent
 * change makes the update fail (ABORTED) instead of being overwritten.
 *
 * Spec: https://cloud.google.com/run/docs/reference/rpc/google.cloud.run.v2; https://google.aip.dev/154 (etags);
 * https://google.aip.dev/134 (update masks).
 * @module
 */
import type { ServicesClient, protos } from '@google-cloud/run';
import { INVOKER_ROLE, TOKEN_ENV, type ServiceSpec } from '../desired.js';
import type { ActualService } from '../plan.js';
import { apiError } from './errors.js';
import { editPolicy } from './iam-policy.js';

type IService = protos.google.cloud.run.v2.IService;

/** Services asked for a page (ListServicesRequest.page_size; the server may answer fewer). */
const LIST_PAGE_SIZE = 500;

/** Every service in `projects/P/locations/R`, as the plan compares them. */
export async function listServices(client: ServicesClient, location: string): Promise<ActualService[]> {
  try {
    // One call a page, following next_page_token (https://google.aip.dev/158).
    const out: ActualService[] = [];
    let pageToken = '';
    do {
      const [services, next] = await client.listServices(
        { parent: location, pageSize: LIST_PAGE_SIZE, pageToken },
        { autoPaginate: false },
      );
      out.push(...services.map(toActual));
      pageToken = next?.pageToken ?? '';
    } while (pageToken !== '');
    return out;
  } catch (e) {
    throw apiError(`list Cloud Run services in ${location}`, e);
  }
}

/** The update mask of an update: the top-level fields nbtrigger sends (everything else is left as it is). */
const SERVICE_UPDATE_PATHS = ['labels', 'template', 'invoker_iam_disabled'];

/** The Service resource nbtrigger sends for a new service (ingress and IAM stay private by default). */
function toService(spec: ServiceSpec): IService {
  return ownedFields({}, spec);
}

/**
 * `current` with the fields nbtrigger owns set from `spec`: labels and template labels merged
 * (others kept), the first container's image, CPU/memory limits, billing and startup boost, the
 * token variable (other variables kept), scaling, timeout, concurrency, session affinity, the
 * service account. Everything else in `current` (annotations, volumes, VPC access, …) is kept.
 */
function ownedFields(current: IService, spec: ServiceSpec): IService {
  const tpl: protos.google.cloud.run.v2.IRevisionTemplate = { ...(current.template ?? {}) };
  // A revision name set by hand would clash with the new configuration (409): let Cloud Run name it.
  delete tpl.revision;
  tpl.labels = { ...(tpl.labels ?? {}), ...spec.labels };
  tpl.scaling = { ...(tpl.scaling ?? {}), minInstanceCount: spec.minInstances, maxInstanceCount: spec.maxInstances };
  tpl.timeout = { seconds: spec.timeoutSeconds, nanos: 0 };
  tpl.maxInstanceRequestConcurrency = spec.concurrency;
  // Kernels live in one instance's memory: keep a client on the instance it started on.
  tpl.sessionAffinity = true;
  if (spec.serviceAccount !== undefined) tpl.serviceAccount = spec.serviceAccount;
  const [first, ...others] = tpl.containers ?? [{}];
  const env = (first?.env ?? []).filter((e) => e.name !== TOKEN_ENV);
  tpl.containers = [
    {
      ...first,
      image: spec.image,
      resources: {
        ...(first?.resources ?? {}),
        limits: { ...(first?.resources?.limits ?? {}), cpu: spec.cpu, memory: spec.memory },
        cpuIdle: spec.cpuIdle,
        startupCpuBoost: spec.startupCpuBoost,
      },
      env: [
        ...env,
        { name: TOKEN_ENV, valueSource: { secretKeyRef: { secret: spec.tokenSecret, version: 'latest' } } },
      ],
    },
    ...others,
  ];
  return {
    ...current,
    labels: { ...(current.labels ?? {}), ...spec.labels },
    invokerIamDisabled: false,
    template: tpl,
  };
}

/** Creates a service and waits until the operation is done; answers it as read back. */
export async function createService(client: ServicesClient, spec: ServiceSpec): Promise<ActualService> {
  const what = `create Cloud Run service ${spec.name}`;
  try {
    const location = spec.name.slice(0, spec.name.lastIndexOf('/services/'));
    const [op] = await client.createService({ parent: location, serviceId: spec.serviceId, service: toService(spec) });
    const [service] = await op.promise();
    return toActual(service);
  } catch (e) {
    throw apiError(what, e);
  }
}

/**
 * Sets the fields nbtrigger owns on a service and waits until the operation is done: reads it,
 * edits what was read ({@link ownedFields}), sends it back with the etag read and the update
 * mask {@link SERVICE_UPDATE_PATHS}. A change made in between fails the update (ABORTED).
 */
export async function updateService(client: ServicesClient, spec: ServiceSpec): Promise<ActualService> {
  try {
    const [current] = await client.getService({ name: spec.name });
    const read: IService = { ...writable(current), name: spec.name, etag: current.etag ?? '' };
    const [op] = await client.updateService({
      service: ownedFields(read, spec),
      updateMask: { paths: SERVICE_UPDATE_PATHS },
    });
    const [service] = await op.promise();
    return toActual(service);
  } catch (e) {
    throw apiError(`update Cloud Run service ${spec.name}`, e);
  }
}

/** Deletes a service and waits until the operation is done. */
export async function deleteService(client: ServicesClient, name: string): Promise<void> {
  try {
    const [op] = await client.deleteService({ name });
    await op.promise();
  } catch (e) {
    throw apiError(`delete Cloud Run service ${name}`, e);
  }
}

/** Members holding roles/run.invoker on a service. */
export async function getInvokers(client: ServicesClient, name: string): Promise<string[]> {
  try {
    const [policy] = await client.getIamPolicy({ resource: name });
    return (policy.bindings ?? []).filter((b) => b.role === INVOKER_ROLE).flatMap((b) => b.members ?? []);
  } catch (e) {
    throw apiError(`read the IAM policy of ${name}`, e);
  }
}

/**
 * Adds and removes roles/run.invoker members with a read-modify-write of the policy (the etag
 * read is sent back, so a concurrent change makes the write fail rather than be lost).
 */
export async function updateInvokers(
  client: ServicesClient,
  name: string,
  add: string[],
  remove: string[],
): Promise<void> {
  try {
    const [policy] = await client.getIamPolicy({ resource: name });
    await client.setIamPolicy({ resource: name, policy: editPolicy(policy, INVOKER_ROLE, add, remove) });
  } catch (e) {
    throw apiError(`update the IAM policy of ${name}`, e);
  }
}

/** Output-only fields of a Service: never sent back. */
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
  'latestReadyRevision',
  'latestCreatedRevision',
  'trafficStatuses',
  'uri',
  'urls',
  'reconciling',
  'satisfiesPzs',
] as const;

/** A read Service without its output-only fields. */
export function writable(s: IService): IService {
  const out: Record<string, unknown> = { ...s };
  for (const k of OUTPUT_ONLY) delete out[k];
  return out as IService;
}

/** Reads back only what the plan compares. */
function toActual(s: IService): ActualService {
  const t = s.template ?? {};
  const c = t.containers?.[0];
  const out: ActualService = { name: s.name ?? '', labels: { ...(s.labels ?? {}) } };
  if (c?.image) out.image = c.image;
  const limits = c?.resources?.limits ?? {};
  if (limits.cpu !== undefined) out.cpu = limits.cpu;
  if (limits.memory !== undefined) out.memory = limits.memory;
  if (c) {
    out.cpuIdle = c.resources?.cpuIdle ?? false;
    out.startupCpuBoost = c.resources?.startupCpuBoost ?? false;
  }
  out.concurrency = Number(t.maxInstanceRequestConcurrency ?? 0);
  if (t.scaling) {
    out.minInstances = Number(t.scaling.minInstanceCount ?? 0);
    if (t.scaling.maxInstanceCount !== undefined && t.scaling.maxInstanceCount !== null)
      out.maxInstances = Number(t.scaling.maxInstanceCount);
  }
  if (t.timeout?.seconds !== undefined && t.timeout.seconds !== null) out.timeoutSeconds = Number(t.timeout.seconds);
  if (t.serviceAccount) out.serviceAccount = t.serviceAccount;
  const token = c?.env?.find((e) => e.name === TOKEN_ENV)?.valueSource?.secretKeyRef?.secret;
  if (token) out.tokenSecret = token.replace(/^projects\/[^/]+\/secrets\//, '');
  if (s.uri) out.uri = s.uri;
  const urls = [s.uri, ...(s.urls ?? [])].filter((u): u is string => typeof u === 'string' && u !== '');
  if (urls.length > 0) out.urls = [...new Set(urls)];
  return out;
}
