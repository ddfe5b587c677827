/**
 * An in-process fake of the Cloud Scheduler API v1 `CloudScheduler` service, built from the
 * .proto files @google-cloud/scheduler ships, keeping jobs in memory and honouring UpdateJob's
 * field mask.
 *
 * Spec: https://cloud.google.com/scheduler/docs/reference/rpc/google.cloud.scheduler.v1.
 * @module
 */
import { fakeClientOptions, grpc, listen, loadProtos, serviceDef, shutdown, status, unary, type FakeServer, type Recorded } from './grpc-common.js';

const MUTATING = new Set(['CreateJob', 'UpdateJob', 'DeleteJob', 'PauseJob', 'ResumeJob', 'RunJob']);
/** proto field names in an update mask → the camelCase keys proto-loader gives. */
const MASK_FIELDS: Record<string, string> = { description: 'description', schedule: 'schedule', time_zone: 'timeZone', pubsub_target: 'pubsubTarget', retry_config: 'retryConfig', attempt_deadline: 'attemptDeadline' };

export interface FakeScheduler extends FakeServer {
  jobs: Map<string, any>;
  clientOptions(): ReturnType<typeof fakeClientOptions>;
}

/** Starts the fake on a free port. */
export async function startFakeScheduler(): Promise<FakeScheduler> {
  const def = loadProtos(['google/cloud/scheduler/v1/cloudscheduler.proto'], '@google-cloud/scheduler');
  const calls: Recorded[] = [];
  const jobs = new Map<string, any>();
  const parentOf = (name: string): string => name.slice(0, name.indexOf('/jobs/'));
  const mustGet = (name: string): any => {
    const j = jobs.get(name);
    if (!j) throw status(grpc.status.NOT_FOUND, `Job not found: ${name}`);
    return j;
  };
  const checkTarget = (job: any): void => {
    if (job.target !== 'pubsubTarget' && !job.pubsubTarget) throw status(grpc.status.INVALID_ARGUMENT, 'this fake takes Pub/Sub targets only');
    if (!/^projects\/[^/]+\/topics\/[^/]+$/.test(job.pubsubTarget?.topicName ?? '')) throw status(grpc.status.INVALID_ARGUMENT, `bad topic name "${job.pubsubTarget?.topicName}"`);
  };

  const server = new grpc.Server();
  server.addService(serviceDef(def, 'google.cloud.scheduler.v1.CloudScheduler'), unary(calls, {
    CreateJob(req) {
      const job = req.job ?? {};
      if (parentOf(job.name ?? '') !== req.parent) throw status(grpc.status.INVALID_ARGUMENT, `job name ${job.name} is not under ${req.parent}`);
      if (!/^[A-Za-z0-9_-]{1,500}$/.test(job.name.slice(job.name.lastIndexOf('/') + 1))) throw status(grpc.status.INVALID_ARGUMENT, `bad job id in ${job.name}`);
      if (jobs.has(job.name)) throw status(grpc.status.ALREADY_EXISTS, `Job ${job.name} already exists`);
      checkTarget(job);
      const stored = { ...job, state: 'ENABLED', userUpdateTime: { seconds: String(Math.floor(Date.now() / 1000)) } };
      jobs.set(job.name, stored);
      return stored;
    },
    UpdateJob(req) {
      const cur = mustGet(req.job?.name);
      const paths: string[] = req.updateMask?.paths ?? [];
      const next = { ...cur };
      if (paths.length === 0) Object.assign(next, req.job);
      for (const p of paths) {
        const key = MASK_FIELDS[p];
        if (!key) throw status(grpc.status.INVALID_ARGUMENT, `unknown update_mask path "${p}"`);
        if (req.job[key] === undefined) delete next[key];
        else next[key] = req.job[key];
      }
      checkTarget(next);
      jobs.set(next.name, next);
      return next;
    },
    DeleteJob(req) {
      mustGet(req.name);
      jobs.delete(req.name);
      return {};
    },
    GetJob: (req) => mustGet(req.name),
    ListJobs(req) {
      if (req.pageToken) throw status(grpc.status.INVALID_ARGUMENT, 'this fake answers one page');
      return { jobs: [...jobs.values()].filter((j) => parentOf(j.name) === req.parent) };
    },
  }));
  const port = await listen(server);
  return {
    port, calls, jobs,
    mutatingCalls: () => calls.filter((c) => MUTATING.has(c.method)),
    clientOptions: () => fakeClientOptions(port),
    stop: () => shutdown(server),
  };
}
