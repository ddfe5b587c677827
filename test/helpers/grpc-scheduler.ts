/**
 * An in-process fake of the Cloud Scheduler API v1 `CloudScheduler` service, built from the
 * .proto files @google-cloud/scheduler ships, keeping jobs in memory and honouring UpdateJob's
 * field mask. It refuses what the real API refuses (deploy/rules.ts, each rule with its link):
 * the job id's characters and length, a description over 500 characters, a schedule that is not
 * unix-cron, a time zone outside the tz database, retry_count outside 0–5, a Pub/Sub target
 * without a topic name or without data and attributes: INVALID_ARGUMENT naming the rule.
 *
 * A job's `state` is the server's: ENABLED on create, PAUSED/ENABLED by PauseJob/ResumeJob; an
 * update keeps PAUSED and turns UPDATE_FAILED (set by a test on the stored job) back to ENABLED,
 * as the API documents for recovering from a failed update.
 *
 * Spec: https://cloud.google.com/scheduler/docs/reference/rpc/google.cloud.scheduler.v1.
 * @module
 */
import { cronProblem, timeZoneProblem } from '../../deploy/cron.js';
import { jobIdViolation, RULES, violationText, type Rule } from '../../deploy/rules.js';
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

/**
 * ListJobs: "The maximum page size is 500. If unspecified, the page size will be the maximum."
 * (ListJobsRequest.page_size)
 */
const MAX_PAGE_SIZE = 500;

const MUTATING = new Set(['CreateJob', 'UpdateJob', 'DeleteJob', 'PauseJob', 'ResumeJob', 'RunJob']);
/** proto field names in an update mask → the camelCase keys proto-loader gives. */
const MASK_FIELDS: Record<string, string> = {
  description: 'description',
  schedule: 'schedule',
  time_zone: 'timeZone',
  pubsub_target: 'pubsubTarget',
  retry_config: 'retryConfig',
  attempt_deadline: 'attemptDeadline',
};

export interface FakeScheduler extends FakeServer {
  jobs: Map<string, any>;
  clientOptions(): ReturnType<typeof fakeClientOptions>;
}

/** Starts the fake on a free port. */
export async function startFakeScheduler(faults: FakeFaults = {}): Promise<FakeScheduler> {
  const def = loadProtos(['google/cloud/scheduler/v1/cloudscheduler.proto'], '@google-cloud/scheduler');
  const calls: Recorded[] = [];
  const jobs = new Map<string, any>();
  const parentOf = (name: string): string => name.slice(0, name.indexOf('/jobs/'));
  const mustGet = (name: string): any => {
    const j = jobs.get(name);
    if (!j) throw status(grpc.status.NOT_FOUND, `Job not found: ${name}`);
    return j;
  };
  const refuse = (rule: Rule, found: string): never => {
    throw status(grpc.status.INVALID_ARGUMENT, `${found}: ${rule.text} (${rule.url})`);
  };
  const checkJob = (job: any): void => {
    if (job.target !== 'pubsubTarget' && !job.pubsubTarget)
      throw status(grpc.status.INVALID_ARGUMENT, 'this fake takes Pub/Sub targets only');
    const t = job.pubsubTarget;
    if (!/^projects\/[^/]+\/topics\/[^/]+$/.test(t?.topicName ?? ''))
      refuse(RULES.pubsubTarget, `topic name "${t?.topicName}"`);
    if ((t.data === undefined || t.data.length === 0) && Object.keys(t.attributes ?? {}).length === 0)
      refuse(RULES.pubsubTarget, 'no data and no attributes');
    const id = jobIdViolation(String(job.name).slice(String(job.name).lastIndexOf('/') + 1));
    if (id) throw status(grpc.status.INVALID_ARGUMENT, violationText(id));
    if ((job.description ?? '').length > 500)
      refuse(RULES.jobDescription, `description of ${job.description.length} characters`);
    const cron = cronProblem(job.schedule ?? '');
    if (cron) refuse(RULES.schedule, `schedule "${job.schedule}" (${cron})`);
    if (job.timeZone && timeZoneProblem(job.timeZone)) refuse(RULES.timeZone, `time zone "${job.timeZone}"`);
    const retries = job.retryConfig?.retryCount;
    if (retries !== undefined && (retries < 0 || retries > 5)) refuse(RULES.retryCount, `retry_count ${retries}`);
  };
  const setState = (name: string, state: string): any => {
    const j = mustGet(name);
    j.state = state;
    return j;
  };

  const server = new grpc.Server();
  const nameOf = (req: any): string => String(req.job?.name ?? req.name ?? req.parent ?? '');
  server.addService(
    serviceDef(def, 'google.cloud.scheduler.v1.CloudScheduler'),
    unary(
      calls,
      withFaults(
        faults,
        {
          CreateJob(req) {
            const job = req.job ?? {};
            if (parentOf(job.name ?? '') !== req.parent)
              throw status(grpc.status.INVALID_ARGUMENT, `job name ${job.name} is not under ${req.parent}`);
            if (jobs.has(job.name)) throw status(grpc.status.ALREADY_EXISTS, `Job ${job.name} already exists`);
            checkJob(job);
            const stored = {
              ...job,
              state: 'ENABLED',
              userUpdateTime: { seconds: String(Math.floor(Date.now() / 1000)) },
            };
            jobs.set(job.name, stored);
            return stored;
          },
          UpdateJob(req) {
            const cur = mustGet(req.job?.name);
            const paths: string[] = req.updateMask?.paths ?? [];
            const { state: _ignored, ...sent } = req.job;
            const next = { ...cur };
            if (paths.length === 0) Object.assign(next, sent);
            for (const p of paths) {
              const key = MASK_FIELDS[p];
              if (!key) throw status(grpc.status.INVALID_ARGUMENT, `unknown update_mask path "${p}"`);
              if (req.job[key] === undefined) delete next[key];
              else next[key] = req.job[key];
            }
            checkJob(next);
            if (next.state === 'UPDATE_FAILED') next.state = 'ENABLED';
            jobs.set(next.name, next);
            return next;
          },
          DeleteJob(req) {
            mustGet(req.name);
            jobs.delete(req.name);
            return {};
          },
          GetJob: (req) => mustGet(req.name),
          PauseJob: (req) => setState(req.name, 'PAUSED'),
          ResumeJob: (req) => setState(req.name, 'ENABLED'),
          ListJobs(req) {
            const p = page(
              [...jobs.values()].filter((j) => parentOf(j.name) === req.parent),
              req,
              MAX_PAGE_SIZE,
            );
            return { jobs: p.items, nextPageToken: p.nextPageToken };
          },
        },
        nameOf,
      ),
    ),
  );
  const port = await listen(server);
  return {
    port,
    calls,
    jobs,
    mutatingCalls: () => calls.filter((c) => MUTATING.has(c.method)),
    counts: () => countCalls(calls),
    clientOptions: () => fakeClientOptions(port),
    stop: () => shutdown(server),
  };
}
