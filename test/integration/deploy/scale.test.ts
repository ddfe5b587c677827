/**
 * Deploy at scale against the local Cloud Run / Scheduler gRPC servers (which page their lists
 * and count calls per method) and Google's Pub/Sub emulator: a generated manifest of 1,000
 * notebooks × 2 schedules deploys; `plan` then makes one paged list per resource type (calls grow
 * with pages, never a get per job or service; the services' IAM policies come from the Cloud Asset
 * search, `--live-iam` reads each); a second deploy makes no mutating call. A server
 * that answers RESOURCE_EXHAUSTED with a retry delay is retried after that delay and the deploy
 * completes; a server that refuses one resource of many leaves the rest applied and the failure
 * named, and a rerun finishes the job. Skips without the emulator, except under CI=true.
 * Spec: docs/deploy.md ("Scale").
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { deployCommand } from '../../../cli/commands/deploy-command.js';
import { AssetServiceClient } from '@google-cloud/asset';
import { ServicesClient } from '@google-cloud/run';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { PubSub } from '@google-cloud/pubsub';
import { applyDeploy, deploy, planFor } from '../../../deploy/apply.js';
import type { DeployClients } from '../../../deploy/clients/index.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { isMutating } from '../../../deploy/plan.js';
import { startDeployBackends, type DeployBackends } from '../../helpers/deploy-backends.js';
import type { FakeFaults } from '../../helpers/grpc-common.js';
import type { FakeRunOptions } from '../../helpers/grpc-run.js';
import { generatedManifest } from '../../helpers/manifest-gen.js';
import { emulatorUnavailableReason, skipUnlessEmulator } from '../../helpers/pubsub-emulator.js';

const REGION = 'europe-west1';
/** The local servers' page sizes (test/helpers/grpc-run.ts, grpc-scheduler.ts). */
const RUN_PAGE = 100;
const SCHEDULER_PAGE = 500;
/** SearchAllIamPoliciesRequest.page_size's cap (deploy/clients/asset.ts). */
const ASSET_PAGE = 500;

async function backends(
  project: string,
  run: FakeRunOptions = {},
  scheduler: FakeFaults = {},
): Promise<{ b: DeployBackends; c: DeployClients; close(): Promise<void> }> {
  const b = await startDeployBackends(project, run, scheduler);
  const c: DeployClients = {
    run: new ServicesClient(b.run.clientOptions()),
    scheduler: new CloudSchedulerClient(b.sch.clientOptions()),
    pubsub: new PubSub({ projectId: project, apiEndpoint: b.ps.host }),
    asset: new AssetServiceClient(b.asset.clientOptions()),
  };
  await b.seedTrigger({ region: REGION, topic: 't_nbtrigger' });
  return {
    b,
    c,
    close: async () => {
      await Promise.allSettled([c.run.close(), c.scheduler.close(), c.pubsub.close(), c.asset?.close()]);
      await b.stop();
    },
  };
}

test('1,000 notebooks: deploy, then plan pages its lists (no get per job) and a second deploy changes nothing', {
  timeout: 600_000,
}, async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const project = 'nbtrigger-scale';
  const { b, c, close } = await backends(project);
  t.after(close);
  const n = 1000;
  const m = parseManifest(generatedManifest(n, { project }), 'scale.yaml');
  const first = await deploy(c, m);
  assert.deepEqual(first.failures, []);
  assert.equal(b.run.services.size, n + 1, 'every service, and the function');
  assert.equal(b.sch.jobs.size, 2 * n);
  assert.equal(b.run.counts().CreateService, n);
  assert.equal(b.sch.counts().CreateJob, 2 * n);

  b.run.calls.length = 0;
  b.sch.calls.length = 0;
  b.asset.calls.length = 0;
  const planned = await planFor(c, m);
  assert.deepEqual(planned.actions.filter(isMutating), [], 'nothing to change');
  const run = b.run.counts();
  const sch = b.sch.counts();
  assert.equal(run.ListServices, Math.ceil((n + 1) / RUN_PAGE), `Cloud Run calls ${JSON.stringify(run)}`);
  assert.equal(sch.ListJobs, Math.ceil((2 * n) / SCHEDULER_PAGE), `Scheduler calls ${JSON.stringify(sch)}`);
  assert.equal(sch.GetJob, undefined, 'no job is read on its own');
  assert.equal(run.GetService, undefined, 'no service is read on its own');
  // IAM policies: Cloud Run has no list call; the Cloud Asset search pages them, 500 a page
  // (the function's service has no policy, so it is not in the index).
  assert.deepEqual(b.asset.counts(), { SearchAllIamPolicies: Math.ceil(n / ASSET_PAGE) });
  assert.deepEqual(Object.keys(sch), ['ListJobs']);
  assert.deepEqual(Object.keys(run).sort(), ['ListServices'], 'no IAM policy read on its own');
  assert.equal(planned.actual.notes, undefined);

  b.run.calls.length = 0;
  b.asset.calls.length = 0;
  const live = await planFor(c, m, { liveIam: true });
  assert.deepEqual(live.actions.filter(isMutating), []);
  assert.equal(b.run.counts().GetIamPolicy, n, '--live-iam: one read a service');
  assert.deepEqual(b.asset.counts(), {}, '--live-iam: no search');

  b.run.calls.length = 0;
  b.sch.calls.length = 0;
  const again = await deploy(c, m);
  assert.deepEqual(again.failures, []);
  assert.deepEqual(
    [...b.run.mutatingCalls(), ...b.sch.mutatingCalls()].map((x) => x.method),
    [],
    'a second deploy makes no mutating call',
  );
});

test('RESOURCE_EXHAUSTED with a retry delay is retried after that delay, and the deploy completes', {
  timeout: 300_000,
}, async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const project = 'nbtrigger-quota';
  const { b, c, close } = await backends(
    project,
    { exhaustOnce: { method: 'CreateService', retryDelayMs: 1500 } },
    { exhaustOnce: { method: 'CreateJob', retryDelayMs: 700 } },
  );
  t.after(close);
  const n = 12;
  const waits: Array<{ what: string; delayMs: number }> = [];
  const slept: number[] = [];
  const done = await deploy(c, parseManifest(generatedManifest(n, { project }), 'q.yaml'), () => {}, {
    pacing: {
      onRetry: (what, delayMs) => waits.push({ what, delayMs }),
      sleep: async (ms) => {
        slept.push(ms);
        await new Promise((r) => setTimeout(r, ms));
      },
    },
  });
  assert.deepEqual(done.failures, []);
  assert.deepEqual(
    waits.map((w) => w.delayMs).sort((x, y) => x - y),
    [700, 1500],
    "the server's delays, as it gave them",
  );
  assert.match(waits.find((w) => w.delayMs === 1500)!.what, /^create service /);
  assert.match(waits.find((w) => w.delayMs === 700)!.what, /^create job /);
  assert.deepEqual(
    slept.sort((x, y) => x - y),
    [700, 1500],
  );
  assert.equal(b.run.counts().CreateService, n + 1, 'one refused, then tried again');
  assert.equal(b.sch.counts().CreateJob, 2 * n + 1);
  assert.equal(b.run.services.size, n + 1);
  assert.equal(b.sch.jobs.size, 2 * n);
});

test('a server that refuses one resource of many: the rest is applied, the failure named, a rerun finishes', {
  timeout: 300_000,
}, async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const project = 'nbtrigger-partial';
  const runFaults: FakeRunOptions = { failWhen: { method: 'CreateService', resource: /\/services\/scale-nb-0007$/ } };
  const schFaults: FakeFaults = { failWhen: { method: 'CreateJob', resource: /\/jobs\/scale_nb-0003-weekly$/ } };
  const { b, c, close } = await backends(project, runFaults, schFaults);
  t.after(close);
  const n = 20;
  const m = parseManifest(generatedManifest(n, { project }), 'p.yaml');
  const first = await deploy(c, m);
  const failed = first.failures.map((f) => `${f.resource} ${f.name.slice(f.name.lastIndexOf('/') + 1)}`).sort();
  assert.deepEqual(failed, [
    'job scale_nb-0003-weekly',
    'job scale_nb-0007-daily',
    'job scale_nb-0007-weekly',
    'service scale-nb-0007',
  ]);
  assert.match(
    first.failures.find((f) => f.resource === 'service')!.error.message,
    /create Cloud Run service .*scale-nb-0007 failed: .*refused/,
  );
  assert.match(
    first.failures.find((f) => f.name.endsWith('0007-daily'))!.error.message,
    /its service scale-nb-0007 failed/,
  );
  assert.equal(b.run.services.size, n, 'every other service (and the function)');
  assert.equal(b.sch.jobs.size, 2 * n - 3, 'every other job');
  await assert.rejects(applyDeploy(c, m), /4 change\(s\) failed, 0 applied; run deploy again to finish/);

  runFaults.failWhen = undefined;
  schFaults.failWhen = undefined;
  const rerun = await deploy(c, m);
  assert.deepEqual(rerun.failures, []);
  assert.deepEqual(
    rerun.actions
      .filter(isMutating)
      .map((a) => `${a.op} ${a.resource}`)
      .sort(),
    ['create job', 'create job', 'create job', 'create service', 'update iam'],
  );
  assert.equal(b.run.services.size, n + 1);
  assert.equal(b.sch.jobs.size, 2 * n);
  b.run.calls.length = 0;
  b.sch.calls.length = 0;
  assert.deepEqual((await deploy(c, m)).failures, []);
  assert.deepEqual([...b.run.mutatingCalls(), ...b.sch.mutatingCalls()], []);
});

test('nbtrigger deploy on a terminal: one counting line, each failure on a line of its own, exit 2 naming them', {
  timeout: 300_000,
}, async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const project = 'nbtrigger-tty';
  const runFaults: FakeRunOptions = { failWhen: { method: 'CreateService', resource: /\/services\/scale-nb-0002$/ } };
  const { b, c, close } = await backends(project, runFaults);
  const dir = await mkdtemp(join(tmpdir(), 'nbt-tty-'));
  t.after(async () => {
    await close();
    await rm(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'm.yaml');
  await writeFile(file, generatedManifest(5, { project }));
  const capture = (tty: boolean): { stream: PassThrough & { isTTY?: boolean }; text(): string } => {
    const stream: PassThrough & { isTTY?: boolean } = new PassThrough();
    if (tty) stream.isTTY = true;
    let text = '';
    stream.on('data', (d: Buffer) => {
      text += d.toString('utf8');
    });
    return { stream, text: () => text };
  };
  const out = capture(false);
  const err = capture(true);
  const code = await deployCommand('deploy', ['-f', file], {
    stdout: out.stream,
    stderr: err.stream,
    env: {},
    clients: c,
  });
  assert.equal(code, 2, err.text());
  assert.match(err.text(), /\r\x1b\[2Kdeploy: 1\/\d+ changes/);
  assert.match(err.text(), /deploy: (\d+)\/\1 changes, 3 failed/, 'the count reaches the total');
  assert.doesNotMatch(err.text(), /^create job /m, 'no line per change on a terminal');
  assert.match(
    err.text(),
    /\r\x1b\[2KFAILED create service .*scale-nb-0002: .*\n/,
    'the failure clears the counting line and keeps a line',
  );
  assert.match(
    err.text(),
    /nbtrigger deploy: 3 change\(s\) failed, \d+ applied; run deploy again to finish:\n {2}service .*scale-nb-0002: /,
  );
  assert.match(out.text(), /scale_nb-0004-weekly/, 'the applied changes are printed');
  assert.equal(b.sch.jobs.size, 8);
  runFaults.failWhen = undefined;
  const plain = capture(false);
  assert.equal(
    await deployCommand('deploy', ['-f', file], {
      stdout: capture(false).stream,
      stderr: plain.stream,
      env: {},
      clients: c,
    }),
    0,
    plain.text(),
  );
  assert.match(plain.text(), /^create service .*scale-nb-0002$/m, 'off a terminal, a line per change');
  assert.equal(b.sch.jobs.size, 10);
});
