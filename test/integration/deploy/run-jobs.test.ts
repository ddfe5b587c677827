/**
 * Job-mode notebooks deployed with the REAL clients (ServicesClient, JobsClient on the same Run
 * fake endpoint, CloudSchedulerClient, PubSub on the emulator): a Cloud Run Job per job-mode
 * notebook (no service), its command `nbtrigger job`, the function's grant of
 * roles/run.jobsExecutorWithOverrides, the scheduler message naming the job; a second deploy makes
 * no mutating call and lists jobs once (no get per job); a job removed from the manifest is pruned;
 * a job of that name not made by nbtrigger is a conflict; destroy deletes them. The 168 h limit is
 * refused by `plan --check` before any call. Skips without the emulator, except under CI=true.
 * Spec: docs/deploy.md (Job mode); deploy/rules.ts (jobTaskTimeout, jobOverridesRole).
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JobsClient, ServicesClient } from '@google-cloud/run';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { PubSub } from '@google-cloud/pubsub';
import { applyDestroy, deploy } from '../../../deploy/apply.js';
import type { DeployClients } from '../../../deploy/clients/index.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { runCli } from '../../helpers/cli.js';
import { startDeployBackends } from '../../helpers/deploy-backends.js';
import { emulatorUnavailableReason, skipUnlessEmulator } from '../../helpers/pubsub-emulator.js';

const PROJECT = 'nbtrigger-jobs';
const LOC = `projects/${PROJECT}/locations/europe-west1`;
const FN = `serviceAccount:nbtrigger-function@${PROJECT}.iam.gserviceaccount.com`;

const yaml = (opts: { withLong?: boolean; run?: string } = {}): string => `
name: jd
project: ${PROJECT}
region: europe-west1
topic: t_jobs
notebooks:
  - name: quick
    file: quick.ipynb
    service: {image: "gcr.io/p/nb:1"}
    schedules: [{name: quick-daily, cron: "0 6 * * *"}]
${opts.withLong === false ? '' : `  - name: long
    file: long.ipynb
    execution: job
    service: {image: "gcr.io/p/nb:1"}
    job: {cpu: 2, memory: 4Gi, maxRetries: 1}
    schedules: [{name: long-weekly, cron: "0 1 * * 0", timeouts: {run: "${opts.run ?? '48h'}"}, parameters: {n: 3}}]
`}`;

test('job-mode notebooks: deploy, no-change deploy, conflict, prune, destroy', { timeout: 180_000 }, async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const { run, sch, ps, seedTrigger, stop } = await startDeployBackends(PROJECT);
  const c: DeployClients = {
    run: new ServicesClient(run.clientOptions()),
    runJobs: new JobsClient(run.clientOptions()),
    scheduler: new CloudSchedulerClient(sch.clientOptions()),
    pubsub: new PubSub({ projectId: PROJECT, apiEndpoint: ps.host }),
  };
  t.after(async () => {
    await Promise.allSettled([c.run.close(), c.runJobs?.close(), c.scheduler.close(), c.pubsub.close()]);
    await stop();
  });
  await seedTrigger({ region: 'europe-west1', topic: 't_jobs' });
  const m = parseManifest(yaml(), 'm.yaml');
  const longJob = `${LOC}/jobs/jd-long`;

  await t.test('a Cloud Run Job per job-mode notebook, granted to the function, named by its schedule', async () => {
    const done = await deploy(c, m);
    assert.deepEqual(done.failures, []);
    assert.ok(!run.services.has(`${LOC}/services/jd-long`), 'no service for a job-mode notebook');
    assert.ok(run.services.has(`${LOC}/services/jd-quick`));
    const job = run.jobs.jobs.get(longJob);
    assert.ok(job, [...run.jobs.jobs.keys()].join(', '));
    const task = job.template.template;
    assert.deepEqual(task.containers[0].command, ['nbtrigger', 'job']);
    assert.equal(task.containers[0].image, 'gcr.io/p/nb:1');
    assert.deepEqual(task.containers[0].resources.limits, { cpu: '2', memory: '4Gi' });
    assert.equal(Number(task.timeout.seconds), 48 * 3600 + 600, 'the longest run plus the margin');
    assert.equal(Number(task.maxRetries), 1);
    assert.equal(job.labels['nbtrigger-deployment'], 'jd');
    const policy = run.jobs.policies.get(longJob);
    assert.ok(policy.bindings.some((b: { role: string; members: string[] }) =>
      b.role === 'roles/run.jobsExecutorWithOverrides' && b.members.includes(FN)), JSON.stringify(policy.bindings));
    const weekly = sch.jobs.get(`${LOC}/jobs/jd_long-weekly`);
    const data = JSON.parse(Buffer.from(weekly.pubsubTarget.data).toString('utf8'));
    assert.deepEqual(data, { job: longJob, notebook: '/long.ipynb', timeouts: { runSeconds: 48 * 3600 }, parameters: { n: 3 } });
    const daily = Buffer.from(sch.jobs.get(`${LOC}/jobs/jd_quick-daily`).pubsubTarget.data).toString('utf8');
    assert.ok(!daily.includes('"job"'), daily);
  });

  await t.test('a second deploy with no change makes no mutating call and lists jobs once', async () => {
    const runBefore = run.mutatingCalls().length;
    const schBefore = sch.mutatingCalls().length;
    const counts = run.counts();
    await deploy(c, m);
    assert.equal(run.mutatingCalls().length - runBefore, 0, JSON.stringify(run.mutatingCalls().slice(runBefore).map((x) => x.method)));
    assert.equal(sch.mutatingCalls().length - schBefore, 0);
    const after = run.counts();
    assert.equal((after.ListJobs ?? 0) - (counts.ListJobs ?? 0), 1, 'one ListJobs page');
    assert.equal((after.GetJob ?? 0) - (counts.GetJob ?? 0), 0, 'never a get per job');
  });

  await t.test('a job of that name not made by nbtrigger is a conflict; nothing is written', async () => {
    run.jobs.put(`${LOC}/jobs/jd-other`, { labels: { owner: 'someone' } });
    const other = parseManifest(yaml().replace('name: long\n', 'name: other\n').replace('long.ipynb', 'other.ipynb'), 'm.yaml');
    const before = run.mutatingCalls().length;
    await assert.rejects(deploy(c, other), /runjob .*jd-other exists but was not made by nbtrigger/);
    assert.equal(run.mutatingCalls().length, before);
    run.jobs.jobs.delete(`${LOC}/jobs/jd-other`);
  });

  await t.test('a job-mode notebook removed from the manifest is pruned with its schedule', async () => {
    const done = await deploy(c, parseManifest(yaml({ withLong: false }), 'm.yaml'));
    assert.deepEqual(done.failures, []);
    assert.ok(done.actions.some((a) => a.resource === 'runjob' && a.op === 'delete' && a.name === longJob));
    assert.ok(!run.jobs.jobs.has(longJob));
    assert.ok(!sch.jobs.has(`${LOC}/jobs/jd_long-weekly`));
  });

  await t.test('destroy deletes the deployment\'s Cloud Run jobs', async () => {
    await deploy(c, m);
    assert.ok(run.jobs.jobs.has(longJob));
    const actions = await applyDestroy(c, m);
    assert.ok(actions.some((a) => a.resource === 'runjob' && a.op === 'delete'));
    assert.ok(!run.jobs.jobs.has(longJob));
    assert.ok(!run.services.has(`${LOC}/services/jd-quick`));
  });
});

test('plan --check refuses a run over 168 h in job mode and over the function\'s limit in service mode, before any call', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbt-jobs-'));
  const file = join(dir, 'm.yaml');
  await writeFile(file, yaml({ run: '169h' }));
  // No endpoint is reachable: a call would fail differently (and --check makes none).
  const env = { NBTRIGGER_RUN_ENDPOINT: '127.0.0.1:9', NBTRIGGER_SCHEDULER_ENDPOINT: '127.0.0.1:9' };
  const over = await runCli(['plan', '--check', '-f', file], { env, timeoutMs: 60_000 });
  assert.notEqual(over.code, 0);
  assert.match(over.stderr, /timeouts\.run/);
  assert.match(over.stderr, /168 hours.*https:\/\/cloud\.google\.com\/run\/docs\/configuring\/task-timeout/);
  await writeFile(file, yaml({ run: '168h' }).replace('maxRetries: 1', 'maxRetries: 1, timeout: 168h'));
  const ok = await runCli(['plan', '--check', '-f', file], { env, timeoutMs: 60_000 });
  assert.equal(ok.code, 0, ok.stderr);
  await writeFile(file, yaml({ run: '2h' }).replace('    execution: job\n', '').replace('    job: {cpu: 2, memory: 4Gi, maxRetries: 1}\n', ''));
  const service = await runCli(['plan', '--check', '-f', file], { env, timeoutMs: 60_000 });
  assert.notEqual(service.code, 0);
  assert.match(service.stderr, /510 s.*functions\/docs\/configuring\/timeout/);
});
