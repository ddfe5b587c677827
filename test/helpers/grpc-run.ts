/**
 * An in-process fake of the Cloud Run Admin API v2 `Services` service and the
 * `google.longrunning.Operations` service it uses, built from the .proto files @google-cloud/run
 * ships, keeping services and IAM policies in memory. Create/Update/Delete answer an operation
 * that is not done; the first GetOperation on it completes it (so the client must really wait).
 *
 * It refuses what the real API refuses (deploy/rules.ts, each rule with its documentation link):
 * CPU values and memory per CPU, the fractional-CPU rules (memory, concurrency 1, request-based
 * billing, first generation), concurrency and timeout ranges, instance bounds, reserved
 * annotations: INVALID_ARGUMENT naming the rule. UpdateService honours `update_mask` (fields
 * outside it keep their values; no mask replaces the service) and the etag: a stale one fails
 * with ABORTED. Output-only fields (uri, urls, uid, generation, etag) are the server's. These
 * rules, the writable fields and the IAM gate are in test/helpers/grpc-run-rules.ts.
 *
 * IAM propagation (option `iam`): a role that SetIamPolicy grants takes effect only `propagationMs`
 * later, as IAM changes do (https://cloud.google.com/iam/docs/access-change-propagation); a call
 * listed in `needs` answers PERMISSION_DENIED until the caller holds its role. The fake holds one
 * project, so a role counts wherever it was granted (real IAM inherits project grants downwards).
 *
 * The same server serves the `Jobs` and `Executions` services (test/helpers/grpc-run-jobs.ts, option
 * `jobs`), as run.googleapis.com serves both: `jobs` holds their state.
 *
 * Spec: https://cloud.google.com/run/docs/reference/rpc/google.cloud.run.v2#services;
 * https://google.aip.dev/151 (long-running operations), https://google.aip.dev/134 (update masks),
 * https://google.aip.dev/154 (etags).
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
  applyMask,
  countCalls,
  fakeClientOptions,
  grpc,
  listen,
  loadProtos,
  page,
  serviceDef,
  shutdown,
  status,
  unary,
  withFaults,
  type FakeFaults,
  type FakeServer,
  type Recorded,
} from './grpc-common.js';
import { JOBS_MUTATING, mountJobs, type FakeRunJobsOptions, type MountedJobs } from './grpc-run-jobs.js';
import { checkRules, OUTPUT_ONLY, servicesIamGate, WRITABLE } from './grpc-run-rules.js';

/**
 * ListServicesRequest.page_size documents no maximum: this fake answers at most 100 a page, so
 * a deployment of hundreds of services is listed over several pages, as a real project's is.
 */
const MAX_PAGE_SIZE = 100;

const MUTATING = new Set<string>(['CreateService', 'UpdateService', 'DeleteService', 'SetIamPolicy', ...JOBS_MUTATING]);

export interface FakeRun extends FakeServer {
  services: Map<string, any>;
  policies: Map<string, any>;
  /** The Jobs and Executions services' state (same endpoint). */
  jobs: MountedJobs;
  /** Client options for ServicesClient (and JobsClient, ExecutionsClient: same endpoint). */
  clientOptions(): ReturnType<typeof fakeClientOptions>;
  /** Stores a service as if deployed by someone else (e.g. the function's own service, with its `uri`); answers it. */
  put(name: string, service: Record<string, unknown>): any;
  /** Called as an UpdateService arrives, before it is checked (a test changes the service here: a concurrent edit). */
  beforeUpdate?: (name: string) => void;
}

/** The caller's IAM as the fake enforces it. */
export interface FakeRunIam {
  /** The member the clients act as (`serviceAccount:…`). */
  caller: string;
  /** A granted role takes effect this long after the SetIamPolicy that granted it, ms. */
  propagationMs: number;
  /** Calls the caller may make only while it holds `role` (optionally only on `resource`). */
  needs: Array<{ method: string; role: string; resource?: string }>;
}

export interface FakeRunOptions extends FakeFaults {
  iam?: FakeRunIam;
  /** The `uri` a new service gets (by service id); a made-up `https://ID-….run.app` when it answers undefined. */
  uriFor?: (serviceId: string) => string | undefined;
  /** Options of the Jobs fake mounted on the same server (its faults and IAM). */
  jobs?: FakeRunJobsOptions;
}

/** Starts the fake on a free port. */
export async function startFakeRun(opts: FakeRunOptions = {}): Promise<FakeRun> {
  const def = loadProtos(
    ['google/cloud/run/v2/service.proto', 'google/longrunning/operations.proto'],
    '@google-cloud/run',
  );
  const services = serviceDef(def, 'google.cloud.run.v2.Services');
  const encodeService = (s: unknown): Buffer => services.GetService!.responseSerialize(s);
  const calls: Recorded[] = [];
  const store = new Map<string, any>();
  const policies = new Map<string, any>();
  const operations = new Map<string, { done: boolean; service: any }>();
  let etag = 0;
  /** `member role` → when it was first granted (ms). */
  const grantedAt = new Map<string, number>();
  const noteGrants = (policy: any): void => {
    for (const b of policy?.bindings ?? []) {
      for (const m of b.members ?? [])
        if (!grantedAt.has(`${m} ${b.role}`)) grantedAt.set(`${m} ${b.role}`, Date.now());
    }
  };
  /** The handlers, each refusing first what the caller may not do yet (option `iam`). */
  const gated = servicesIamGate(opts.iam, grantedAt);

  const any = (s: unknown): { typeUrl: string; value: Buffer } => ({
    typeUrl: 'type.googleapis.com/google.cloud.run.v2.Service',
    value: encodeService(s),
  });
  const startOp = (location: string, service: any): any => {
    const name = `${location}/operations/${randomUUID()}`;
    operations.set(name, { done: false, service });
    return { name, done: false, metadata: any(service) };
  };
  const locationOf = (name: string): string => name.slice(0, name.indexOf('/services/'));
  const mustGet = (name: string): any => {
    const s = store.get(name);
    if (!s) throw status(grpc.status.NOT_FOUND, `Resource '${name}' was not found`);
    return s;
  };
  const withoutOutputOnly = (s: any): any =>
    Object.fromEntries(Object.entries(s ?? {}).filter(([k]) => !OUTPUT_ONLY.includes(k)));
  const create = (parent: string, id: string, service: any): any => {
    const name = `${parent}/services/${id}`;
    const region = parent.split('/')[3];
    const uri = opts.uriFor?.(id) ?? `https://${id}-1234567890.${region}.run.app`;
    const s = {
      ...withoutOutputOnly(service),
      name,
      uid: randomUUID(),
      generation: '1',
      uri,
      urls: [uri, `https://${id}-abcdefghij-ew.a.run.app`],
      etag: `"e${++etag}"`,
    };
    store.set(name, s);
    policies.set(name, { version: 1, etag: Buffer.from(`p${++etag}`), bindings: [] });
    return s;
  };

  const server = new grpc.Server();
  const nameOf = (req: any): string =>
    String(
      req.service?.name ??
        (req.serviceId ? `${req.parent}/services/${req.serviceId}` : undefined) ??
        req.name ??
        req.resource ??
        req.parent ??
        '',
    );
  server.addService(
    services,
    unary(
      calls,
      withFaults(
        opts,
        gated({
          CreateService(req) {
            if (!/^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$/.test(req.serviceId ?? ''))
              throw status(grpc.status.INVALID_ARGUMENT, `bad service id "${req.serviceId}"`);
            if (store.has(`${req.parent}/services/${req.serviceId}`))
              throw status(
                grpc.status.ALREADY_EXISTS,
                `Resource '${req.parent}/services/${req.serviceId}' already exists`,
              );
            checkRules(req.service);
            if (req.validateOnly) return startOp(req.parent, req.service);
            return startOp(req.parent, create(req.parent, req.serviceId, req.service));
          },
          UpdateService(req) {
            const name: string = req.service?.name ?? '';
            fake.beforeUpdate?.(name);
            const cur = store.get(name);
            if (!cur) {
              if (!req.allowMissing) throw status(grpc.status.NOT_FOUND, `Resource '${name}' was not found`);
              checkRules(req.service);
              return startOp(
                locationOf(name),
                create(locationOf(name), name.slice(name.lastIndexOf('/') + 1), req.service),
              );
            }
            if (req.service.etag && req.service.etag !== cur.etag) {
              const why = `etag ${req.service.etag} does not match the current etag ${cur.etag}`;
              throw status(grpc.status.ABORTED, `${why}: the service changed since it was read`);
            }
            const paths: string[] = req.updateMask?.paths ?? [];
            const merged =
              paths.length === 0
                ? { ...withoutOutputOnly(req.service), name }
                : applyMask(cur, req.service, paths, WRITABLE);
            checkRules(merged);
            if (req.validateOnly) return startOp(locationOf(name), merged);
            const s = {
              ...merged,
              uid: cur.uid,
              uri: cur.uri,
              urls: cur.urls,
              generation: String(Number(cur.generation) + 1),
              etag: `"e${++etag}"`,
            };
            store.set(name, s);
            return startOp(locationOf(name), s);
          },
          DeleteService(req) {
            const s = mustGet(req.name);
            store.delete(req.name);
            policies.delete(req.name);
            return startOp(locationOf(req.name), s);
          },
          GetService: (req) => mustGet(req.name),
          ListServices(req) {
            const p = page(
              [...store.values()].filter((s) => locationOf(s.name) === req.parent),
              req,
              MAX_PAGE_SIZE,
            );
            return { services: p.items, nextPageToken: p.nextPageToken };
          },
          GetIamPolicy(req) {
            mustGet(req.resource);
            if (!policies.has(req.resource))
              policies.set(req.resource, { version: 1, etag: Buffer.from(`p${++etag}`), bindings: [] });
            return policies.get(req.resource);
          },
          SetIamPolicy(req) {
            mustGet(req.resource);
            const cur = policies.get(req.resource) ?? { etag: Buffer.alloc(0) };
            const sent = req.policy?.etag as Buffer | undefined;
            if (sent && sent.length > 0 && !Buffer.from(sent).equals(cur.etag))
              throw status(grpc.status.ABORTED, 'etag mismatch: the policy changed');
            const next = {
              version: req.policy?.version ?? 1,
              bindings: req.policy?.bindings ?? [],
              etag: Buffer.from(`p${++etag}`),
            };
            policies.set(req.resource, next);
            noteGrants(next);
            return next;
          },
        }),
        nameOf,
      ),
    ),
  );
  const jobs = mountJobs(server, calls, opts.jobs ?? {});
  server.addService(
    serviceDef(def, 'google.longrunning.Operations'),
    unary(calls, {
      GetOperation(req) {
        const jobOp = jobs.getOperation(req.name);
        if (jobOp) return jobOp;
        const op = operations.get(req.name);
        if (!op) throw status(grpc.status.NOT_FOUND, `operation ${req.name} not found`);
        op.done = true;
        return { name: req.name, done: true, metadata: any(op.service), response: any(op.service) };
      },
    }),
  );
  const port = await listen(server);
  const fake: FakeRun = {
    port,
    calls,
    services: store,
    policies,
    jobs,
    mutatingCalls: () => calls.filter((c) => MUTATING.has(c.method)),
    counts: () => countCalls(calls),
    clientOptions: () => fakeClientOptions(port),
    put(name, service) {
      const s = create(locationOf(name), name.slice(name.lastIndexOf('/') + 1), {
        template: { containers: [{ image: 'x' }] },
        ...service,
      });
      if (typeof service.uri === 'string') Object.assign(s, { uri: service.uri, urls: service.urls ?? [service.uri] });
      return s;
    },
    stop: () => shutdown(server),
  };
  return fake;
}
