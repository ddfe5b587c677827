/**
 * The Cloud Run Jobs fake (test/helpers/grpc-run-jobs.ts) through the REAL @google-cloud/run
 * JobsClient and ExecutionsClient: create/get/list (paged)/update (etag)/delete, the documented
 * limits refused, RunJob with overrides answering an Execution with its full name, and the
 * run.jobs.runWithOverrides rule when the fake's IAM is on.
 * Spec: deploy/rules.ts (jobTaskTimeout, jobMaxRetries, jobTaskCount, jobOverridesRole).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExecutionsClient, JobsClient, type protos } from '@google-cloud/run';
import { startFakeRun } from '../../helpers/grpc-run.js';
import { startFakeRunJobs } from '../../helpers/grpc-run-jobs.js';

type IJob = protos.google.cloud.run.v2.IJob;
const LOC = 'projects/p/locations/europe-west1';
const job = (over: Partial<IJob> = {}): IJob => ({
  labels: { 'nbtrigger-deployment': 'd' },
  template: {
    taskCount: 1,
    template: {
      containers: [
        {
          name: 'nb',
          image: 'gcr.io/p/nb:1',
          env: [{ name: 'A', value: '1' }],
          resources: { limits: { cpu: '1', memory: '2Gi' } },
        },
      ],
      maxRetries: 0,
      timeout: { seconds: 3600 },
    },
  },
  ...over,
});

test('jobs fake: create, get, list in pages, update with etag, delete; executions with overrides', async () => {
  const fake = await startFakeRunJobs();
  const jobs = new JobsClient(fake.clientOptions());
  const execs = new ExecutionsClient(fake.clientOptions());
  try {
    for (let i = 0; i < 105; i++) {
      const [op] = await jobs.createJob({ parent: LOC, jobId: `nb-${i}`, job: job() });
      await op.promise();
    }
    const [listed] = await jobs.listJobs({ parent: LOC });
    assert.equal(listed.length, 105);
    assert.equal(fake.counts().ListJobs, 2, 'two pages of at most 100');
    const [got] = await jobs.getJob({ name: `${LOC}/jobs/nb-0` });
    await assert.rejects(jobs.updateJob({ job: { ...job(), name: got.name, etag: '"stale"' } }), /ABORTED|etag/);
    const [up] = await jobs.updateJob({ job: { ...job({ labels: { x: 'y' } }), name: got.name, etag: got.etag } });
    const [updated] = await up.promise();
    assert.deepEqual(updated.labels, { x: 'y' });
    assert.equal(String(updated.generation), '2');

    const [run] = await jobs.runJob({
      name: `${LOC}/jobs/nb-1`,
      overrides: {
        containerOverrides: [
          {
            env: [
              { name: 'NBT_REQUEST', value: '{}' },
              { name: 'A', value: '2' },
            ],
          },
        ],
        taskCount: 1,
        timeout: { seconds: 7200 },
      },
    });
    const meta = run.metadata as protos.google.cloud.run.v2.IExecution;
    assert.match(String(meta.name), new RegExp(`^${LOC}/jobs/nb-1/executions/nb-1-[a-z0-9]{5}$`));
    const [execution] = await run.promise();
    assert.equal(execution.name, meta.name);
    const env = execution.template?.containers?.[0]?.env ?? [];
    assert.deepEqual(
      env.map((e) => [e.name, e.value]),
      [
        ['A', '2'],
        ['NBT_REQUEST', '{}'],
      ],
    );
    assert.equal(String(execution.template?.timeout?.seconds), '7200');
    const [one] = await execs.getExecution({ name: String(meta.name) });
    assert.equal(one.job, 'nb-1');
    const [all] = await execs.listExecutions({ parent: `${LOC}/jobs/nb-1` });
    assert.equal(all.length, 1);
    const runCall = fake.calls.find((c) => c.method === 'RunJob');
    assert.equal(runCall?.request.overrides.containerOverrides[0].env[0].name, 'NBT_REQUEST', 'the call is recorded');

    const [del] = await jobs.deleteJob({ name: `${LOC}/jobs/nb-1` });
    await del.promise();
    await assert.rejects(jobs.getJob({ name: `${LOC}/jobs/nb-1` }), /NOT_FOUND|not found/);
    await assert.rejects(execs.getExecution({ name: String(meta.name) }), /NOT_FOUND|not found/);
  } finally {
    await Promise.allSettled([jobs.close(), execs.close()]);
    await fake.stop();
  }
});

test('jobs fake: the documented limits are refused naming the rule', async () => {
  const fake = await startFakeRunJobs();
  const jobs = new JobsClient(fake.clientOptions());
  const tpl = (t: Record<string, unknown>, exec: Record<string, unknown> = {}): IJob => ({
    template: {
      ...exec,
      template: { containers: [{ image: 'i', resources: { limits: { cpu: '1', memory: '512Mi' } } }], ...t },
    },
  });
  try {
    const cases: Array<[IJob, RegExp]> = [
      [tpl({ timeout: { seconds: 168 * 3600 + 1 } }), /168 hours.*task-timeout/],
      [tpl({ maxRetries: 11 }), /0 to 10.*max-retries/],
      [tpl({}, { taskCount: 10_001 }), /10,000 tasks/],
      [tpl({}, { taskCount: 2, parallelism: 3 }), /parallelism/],
      [
        {
          template: {
            template: { containers: [{ image: 'i', resources: { limits: { cpu: '3', memory: '512Mi' } } }] },
          },
        },
        /jobs\/cpu/,
      ],
      [
        {
          template: { template: { containers: [{ image: 'i', resources: { limits: { cpu: '1', memory: '8Gi' } } }] } },
        },
        /memory/,
      ],
    ];
    for (const [j, why] of cases) await assert.rejects(jobs.createJob({ parent: LOC, jobId: 'bad', job: j }), why);
    assert.equal(fake.jobs.size, 0);
    const [op] = await jobs.createJob({
      parent: LOC,
      jobId: 'ok',
      job: tpl({ timeout: { seconds: 168 * 3600 }, maxRetries: 10 }),
    });
    await op.promise();
    await assert.rejects(
      jobs.runJob({ name: `${LOC}/jobs/ok`, overrides: { timeout: { seconds: 168 * 3600 + 1 } } }),
      /168 hours/,
    );
    await assert.rejects(jobs.runJob({ name: `${LOC}/jobs/ok`, overrides: { taskCount: 10_001 } }), /10,000/);
  } finally {
    await jobs.close();
    await fake.stop();
  }
});

test('jobs fake: RunJob with overrides needs roles/run.jobsExecutorWithOverrides on the job (IAM on)', async () => {
  const caller = 'serviceAccount:fn@p.iam.gserviceaccount.com';
  const fake = await startFakeRun({ jobs: { iam: { caller, propagationMs: 0, needs: [] } } });
  const jobs = new JobsClient(fake.clientOptions());
  const name = `${LOC}/jobs/long`;
  try {
    const [op] = await jobs.createJob({ parent: LOC, jobId: 'long', job: job() });
    await op.promise();
    const overrides = { containerOverrides: [{ env: [{ name: 'X', value: '1' }] }] };
    await assert.rejects(
      jobs.runJob({ name, overrides }),
      /PERMISSION_DENIED|Permission denied.*jobsExecutorWithOverrides/,
    );
    const [plain] = await jobs.runJob({ name });
    await plain.promise();
    const [policy] = await jobs.getIamPolicy({ resource: name });
    await jobs.setIamPolicy({
      resource: name,
      policy: { ...policy, bindings: [{ role: 'roles/run.jobsExecutorWithOverrides', members: [caller] }] },
    });
    const [ok] = await jobs.runJob({ name, overrides });
    await ok.promise();
    assert.equal(fake.jobs.executions.size, 2);
    // Every call is recorded, the refused one too.
    assert.deepEqual(
      fake.mutatingCalls().map((c) => c.method),
      ['CreateJob', 'RunJob', 'RunJob', 'SetIamPolicy', 'RunJob'],
    );
  } finally {
    await jobs.close();
    await fake.stop();
  }
});
