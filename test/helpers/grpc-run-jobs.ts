/**
 * An in-process fake of the Cloud Run Admin API v2 `Jobs` and `Executions` services, built from
 * the .proto files @google-cloud/run ships (job.proto, execution.proto). `mountJobs` adds them to
 * a server (test/helpers/grpc-run.ts mounts them beside `Services`, one endpoint as
 * run.googleapis.com is); `startFakeRunJobs` serves them alone with their own Operations service.
 * Create/Update/Delete/RunJob answer an operation that is not done; the first GetOperation on it
 * completes it (so the client must really wait).
 *
 * It refuses what the real API refuses (deploy/rules.ts, deploy/rules-jobs.ts, each rule with its
 * link): CPU/memory as for services, task timeout 1 s to 168 h, max retries 0 to 10, 1 to 10,000
 * tasks and parallelism up to the task count, reserved annotations: INVALID_ARGUMENT naming the
 * rule. UpdateJobRequest has no update mask (job.proto): an update replaces the job; a stale etag
 * fails with ABORTED. RunJob with `overrides` (container env merged by name, args, task_count,
 * timeout) needs run.jobs.runWithOverrides: with option `iam`, the caller must hold
 * roles/run.jobsExecutorWithOverrides on the job (granted `propagationMs` earlier) or gets
 * PERMISSION_DENIED. Each execution is `JOB/executions/JOBID-xxxxx`.
 *
 * Spec: https://cloud.google.com/run/docs/reference/rpc/google.cloud.run.v2#jobs,
 * https://cloud.google.com/run/docs/execute/jobs#override-job-configuration, https://google.aip.dev/151.
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
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
import { checkJob, iamGate, overridden } from './grpc-run-jobs-rules.js';
import type { FakeRunIam } from './grpc-run.js';

/** ListJobsRequest/ListExecutionsRequest.page_size document no maximum: 100 a page here. */
const MAX_PAGE_SIZE = 100;
export const JOBS_MUTATING = ['CreateJob', 'UpdateJob', 'DeleteJob', 'RunJob', 'SetIamPolicy'] as const;
const OUTPUT_ONLY = [
  'uid',
  'generation',
  'createTime',
  'updateTime',
  'etag',
  'reconciling',
  'observedGeneration',
  'creator',
  'lastModifier',
  'executionCount',
  'latestCreatedExecution',
  'terminalCondition',
  'conditions',
];

export interface FakeRunJobsOptions extends FakeFaults {
  /** On: RunJob with overrides needs roles/run.jobsExecutorWithOverrides on the job; `needs` gates other Jobs calls. */
  iam?: FakeRunIam;
}

/** The Jobs state a mounted fake keeps, and the operations it started. */
export interface MountedJobs {
  jobs: Map<string, any>;
  executions: Map<string, any>;
  policies: Map<string, any>;
  /** Completes and answers an operation this fake started, or undefined when it is not one of them. */
  getOperation(name: string): any | undefined;
  /** Stores a job as if deployed by someone else; answers it. */
  put(name: string, job: Record<string, unknown>): any;
}

/** Adds the Jobs and Executions services to `server`, recording calls in `calls`. */
export function mountJobs(server: grpc.Server, calls: Recorded[], opts: FakeRunJobsOptions = {}): MountedJobs {
  const def = loadProtos(['google/cloud/run/v2/job.proto', 'google/cloud/run/v2/execution.proto'], '@google-cloud/run');
  const jobsDef = serviceDef(def, 'google.cloud.run.v2.Jobs');
  const execDef = serviceDef(def, 'google.cloud.run.v2.Executions');
  const anyOf = (type: 'Job' | 'Execution', v: unknown): { typeUrl: string; value: Buffer } => ({
    typeUrl: `type.googleapis.com/google.cloud.run.v2.${type}`,
    value: type === 'Job' ? jobsDef.GetJob!.responseSerialize(v) : execDef.GetExecution!.responseSerialize(v),
  });
  const jobs = new Map<string, any>();
  const executions = new Map<string, any>();
  const policies = new Map<string, any>();
  const operations = new Map<string, { done: boolean; type: 'Job' | 'Execution'; value: any }>();
  /** `resource member role` → when it was granted (ms). */
  const grantedAt = new Map<string, number>();
  let etag = 0;
  const locationOf = (name: string): string => name.slice(0, name.indexOf('/jobs/'));
  const startOp = (location: string, type: 'Job' | 'Execution', value: any): any => {
    const name = `${location}/operations/${randomUUID()}`;
    operations.set(name, { done: false, type, value });
    return { name, done: false, metadata: anyOf(type, value) };
  };
  const mustGet = (name: string): any => {
    const j = jobs.get(name);
    if (!j) throw status(grpc.status.NOT_FOUND, `Resource '${name}' was not found`);
    return j;
  };
  const withoutOutputOnly = (j: any): any =>
    Object.fromEntries(Object.entries(j ?? {}).filter(([k]) => !OUTPUT_ONLY.includes(k)));
  const store = (name: string, job: any, prev?: any): any => {
    const j = {
      ...withoutOutputOnly(job),
      name,
      uid: prev?.uid ?? randomUUID(),
      generation: String(Number(prev?.generation ?? 0) + 1),
      etag: `"j${++etag}"`,
      executionCount: prev?.executionCount ?? 0,
      latestCreatedExecution: prev?.latestCreatedExecution,
    };
    jobs.set(name, j);
    if (!policies.has(name)) policies.set(name, { version: 1, etag: Buffer.from(`p${++etag}`), bindings: [] });
    return j;
  };
  const gated = iamGate(opts.iam, grantedAt);
  const nameOf = (req: any): string =>
    String(
      req.job?.name ??
        (req.jobId ? `${req.parent}/jobs/${req.jobId}` : undefined) ??
        req.name ??
        req.resource ??
        req.parent ??
        '',
    );

  server.addService(
    jobsDef,
    unary(
      calls,
      withFaults(
        opts,
        gated({
          CreateJob(req) {
            // A job id is a DNS label (RFC 1123): lower-case letters, digits, hyphens, starting with a letter.
            if (!/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(req.jobId ?? ''))
              throw status(grpc.status.INVALID_ARGUMENT, `bad job id "${req.jobId}"`);
            const name = `${req.parent}/jobs/${req.jobId}`;
            if (jobs.has(name)) throw status(grpc.status.ALREADY_EXISTS, `Resource '${name}' already exists`);
            checkJob(req.job);
            return startOp(req.parent, 'Job', req.validateOnly ? { ...req.job, name } : store(name, req.job));
          },
          UpdateJob(req) {
            const name: string = req.job?.name ?? '';
            const cur = jobs.get(name);
            if (!cur && !req.allowMissing) throw status(grpc.status.NOT_FOUND, `Resource '${name}' was not found`);
            if (cur && req.job.etag && req.job.etag !== cur.etag) {
              throw status(
                grpc.status.ABORTED,
                `etag ${req.job.etag} does not match the current etag ${cur.etag}: the job changed since it was read`,
              );
            }
            checkJob(req.job);
            return startOp(locationOf(name), 'Job', req.validateOnly ? req.job : store(name, req.job, cur));
          },
          DeleteJob(req) {
            const j = mustGet(req.name);
            if (req.etag && req.etag !== j.etag)
              throw status(grpc.status.ABORTED, `etag ${req.etag} does not match ${j.etag}`);
            if (req.validateOnly) return startOp(locationOf(req.name), 'Job', j);
            jobs.delete(req.name);
            policies.delete(req.name);
            for (const e of [...executions.keys()]) if (e.startsWith(`${req.name}/executions/`)) executions.delete(e);
            return startOp(locationOf(req.name), 'Job', j);
          },
          GetJob: (req) => mustGet(req.name),
          ListJobs(req) {
            const p = page(
              [...jobs.values()].filter((j) => locationOf(j.name) === req.parent),
              req,
              MAX_PAGE_SIZE,
            );
            return { jobs: p.items, nextPageToken: p.nextPageToken };
          },
          RunJob(req) {
            const job = mustGet(req.name);
            if (req.etag && req.etag !== job.etag)
              throw status(grpc.status.ABORTED, `etag ${req.etag} does not match ${job.etag}`);
            const o = overridden(job, req.overrides);
            const id = req.name.slice(req.name.lastIndexOf('/') + 1);
            const suffix = randomUUID()
              .replace(/[^a-z0-9]/g, '')
              .slice(0, 5);
            const now = { seconds: String(Math.floor(Date.now() / 1000)), nanos: 0 };
            const exec = {
              name: `${req.name}/executions/${id}-${suffix}`,
              uid: randomUUID(),
              generation: '1',
              job: id,
              labels: job.labels ?? {},
              createTime: now,
              taskCount: o.taskCount,
              parallelism: o.parallelism,
              template: o.template,
            };
            if (req.validateOnly) return startOp(locationOf(req.name), 'Execution', exec);
            executions.set(exec.name, exec);
            job.executionCount = Number(job.executionCount ?? 0) + 1;
            job.latestCreatedExecution = { name: exec.name, createTime: now };
            return startOp(locationOf(req.name), 'Execution', exec);
          },
          GetIamPolicy(req) {
            mustGet(req.resource);
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
            for (const b of next.bindings) {
              for (const m of b.members ?? [])
                if (!grantedAt.has(`${req.resource} ${m} ${b.role}`))
                  grantedAt.set(`${req.resource} ${m} ${b.role}`, Date.now());
            }
            return next;
          },
        }),
        nameOf,
      ),
    ),
  );
  server.addService(
    execDef,
    unary(calls, {
      GetExecution(req) {
        const e = executions.get(req.name);
        if (!e) throw status(grpc.status.NOT_FOUND, `Resource '${req.name}' was not found`);
        return e;
      },
      ListExecutions(req) {
        mustGet(req.parent);
        const p = page(
          [...executions.values()].filter((e) => e.name.startsWith(`${req.parent}/executions/`)),
          req,
          MAX_PAGE_SIZE,
        );
        return { executions: p.items, nextPageToken: p.nextPageToken };
      },
    }),
  );
  return {
    jobs,
    executions,
    policies,
    getOperation(name) {
      const op = operations.get(name);
      if (!op) return undefined;
      op.done = true;
      return { name, done: true, metadata: anyOf(op.type, op.value), response: anyOf(op.type, op.value) };
    },
    put: (name, job) => store(name, { template: { template: { containers: [{ image: 'x' }] } }, ...job }),
  };
}

export interface FakeRunJobs extends FakeServer, MountedJobs {
  /** Client options for JobsClient and ExecutionsClient. */
  clientOptions(): ReturnType<typeof fakeClientOptions>;
}

/** Starts the Jobs fake alone (its own Operations service) on a free port. */
export async function startFakeRunJobs(opts: FakeRunJobsOptions = {}): Promise<FakeRunJobs> {
  const server = new grpc.Server();
  const calls: Recorded[] = [];
  const mounted = mountJobs(server, calls, opts);
  const ops = loadProtos(['google/longrunning/operations.proto'], '@google-cloud/run');
  server.addService(
    serviceDef(ops, 'google.longrunning.Operations'),
    unary(calls, {
      GetOperation(req) {
        const op = mounted.getOperation(req.name);
        if (!op) throw status(grpc.status.NOT_FOUND, `operation ${req.name} not found`);
        return op;
      },
    }),
  );
  const port = await listen(server);
  const mutating = new Set<string>(JOBS_MUTATING);
  return {
    ...mounted,
    port,
    calls,
    mutatingCalls: () => calls.filter((c) => mutating.has(c.method)),
    counts: () => countCalls(calls),
    clientOptions: () => fakeClientOptions(port),
    stop: () => shutdown(server),
  };
}
