/**
 * The services' invoker policies read through the Cloud Asset search (deploy/read-invokers.ts)
 * against the local Cloud Run server and a Cloud Asset server whose index lags until a test syncs
 * it: an entry that shows what the plan wants is taken as read, every other service is read from
 * Cloud Run (so a planned change rests on a live read), `--live-iam` reads every one, a search that
 * is refused falls back to one read a service with a note, a rate-quota refusal of a page is
 * retried. Skips without the Pub/Sub emulator, except under CI=true.
 * Spec: docs/deploy.md ("Scale").
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { AssetServiceClient } from '@google-cloud/asset';
import { ServicesClient } from '@google-cloud/run';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { PubSub } from '@google-cloud/pubsub';
import { deployCommand } from '../../../cli/commands/deploy-command.js';
import { deploy, planFor } from '../../../deploy/apply.js';
import type { DeployClients } from '../../../deploy/clients/index.js';
import { parseManifest, type Manifest } from '../../../deploy/manifest.js';
import { isMutating } from '../../../deploy/plan.js';
import { indexed, startDeployBackends, type DeployBackends } from '../../helpers/deploy-backends.js';
import { startFakeAsset, type FakeAsset, type FakeAssetOptions, type FakePolicy } from '../../helpers/grpc-asset.js';
import { generatedManifest } from '../../helpers/manifest-gen.js';
import { emulatorUnavailableReason, skipUnlessEmulator } from '../../helpers/pubsub-emulator.js';

const REGION = 'europe-west1';
const N = 6;
const INVOKER = 'roles/run.invoker';

interface Setup {
  b: DeployBackends;
  asset: FakeAsset;
  c: DeployClients;
  m: Manifest;
  svc(i: number): string;
}

/** A deployed manifest of N notebooks, and a lagging index of it (synced once, after the deploy). */
async function deployed(t: TestContext, project: string, o: Partial<FakeAssetOptions> = {}): Promise<Setup> {
  const b = await startDeployBackends(project);
  const asset = await startFakeAsset({ project: { id: project, number: '42' }, source: () => indexed(b.run), ...o });
  const c: DeployClients = {
    run: new ServicesClient(b.run.clientOptions()),
    scheduler: new CloudSchedulerClient(b.sch.clientOptions()),
    pubsub: new PubSub({ projectId: project, apiEndpoint: b.ps.host }),
    asset: new AssetServiceClient(asset.clientOptions()),
  };
  t.after(async () => {
    await Promise.allSettled([c.run.close(), c.scheduler.close(), c.pubsub.close(), c.asset?.close()]);
    await Promise.allSettled([asset.stop(), b.stop()]);
  });
  await b.seedTrigger({ region: REGION, topic: 't_nbtrigger' });
  const m = parseManifest(generatedManifest(N, { project }), 'i.yaml');
  assert.deepEqual((await deploy(c, m)).failures, []);
  asset.sync();
  b.run.calls.length = 0;
  asset.calls.length = 0;
  const svc = (i: number): string =>
    `projects/${project}/locations/${REGION}/services/scale-nb-${String(i).padStart(4, '0')}`;
  return { b, asset, c, m, svc };
}

/** Adds `member` to (or, with remove, takes it from) a service's invoker binding in the Run server. */
function editByHand(b: DeployBackends, name: string, member: string, remove = false): void {
  const p: FakePolicy = b.run.policies.get(name);
  const binding = p.bindings!.find((x) => x.role === INVOKER)!;
  binding.members = remove ? binding.members.filter((x: string) => x !== member) : [...binding.members, member];
}

const iamChanges = (actions: Awaited<ReturnType<typeof planFor>>['actions']): string[] =>
  actions.filter((a) => a.resource === 'iam' && isMutating(a)).flatMap((a) => a.changes);

test('an index that shows what the plan wants is taken as read: one search, no read on its own', async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const { b, asset, c, m } = await deployed(t, 'nbt-iam-index');
  const planned = await planFor(c, m);
  assert.deepEqual(planned.actions.filter(isMutating), []);
  assert.deepEqual(asset.counts(), { SearchAllIamPolicies: 1 });
  assert.equal(b.run.counts().GetIamPolicy, undefined);
  const req = asset.calls[0]!.request;
  assert.equal(req.scope, 'projects/nbt-iam-index');
  assert.deepEqual(req.assetTypes, ['run.googleapis.com/Service']);
});

test('services the index does not show as wanted are read from Cloud Run: a stale entry changes nothing', async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const { b, asset, c, m, svc } = await deployed(t, 'nbt-iam-stale');
  // The index has allUsers on service 1 (made public, then put right by hand since): a live read says no change.
  editByHand(b, svc(1), 'allUsers');
  asset.sync();
  editByHand(b, svc(1), 'allUsers', true);
  // Service 2's grant was taken away by hand after the last sync: the index cannot know yet.
  editByHand(b, svc(2), `serviceAccount:nbtrigger-function@nbt-iam-stale.iam.gserviceaccount.com`, true);
  const planned = await planFor(c, m);
  assert.deepEqual(iamChanges(planned.actions), [], 'service 1 is as wanted; service 2 looks so in the index');
  const reads = b.run.calls.filter((x) => x.method === 'GetIamPolicy').map((x) => x.request.resource);
  assert.deepEqual(reads, [svc(1)], 'only the service the index shows otherwise');

  const live = await planFor(c, m, { liveIam: true });
  assert.deepEqual(iamChanges(live.actions), [
    `+ ${INVOKER} serviceAccount:nbtrigger-function@nbt-iam-stale.iam.gserviceaccount.com`,
  ]);
  asset.sync();
  b.run.calls.length = 0;
  const synced = await planFor(c, m);
  assert.equal(iamChanges(synced.actions).length, 1, 'once indexed, the missing grant is planned');
  assert.equal(b.run.counts().GetIamPolicy, 1);
});

test('a service made public is seen once indexed, confirmed by a live read, and put right by deploy', async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const { b, asset, c, m, svc } = await deployed(t, 'nbt-iam-public');
  editByHand(b, svc(3), 'allUsers');
  asset.sync();
  const planned = await planFor(c, m);
  assert.deepEqual(iamChanges(planned.actions), [`- ${INVOKER} allUsers (the service is not public)`]);
  assert.deepEqual(
    b.run.calls.filter((x) => x.method === 'GetIamPolicy').map((x) => x.request.resource),
    [svc(3)],
  );
  assert.deepEqual((await deploy(c, m)).failures, []);
  const after: FakePolicy = b.run.policies.get(svc(3));
  assert.ok(!after.bindings!.some((x) => x.members.includes('allUsers')));
});

test('a search that is refused: every policy read from Cloud Run, and plan says why on stderr', async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const denied = 'Cloud Asset API has not been used in project 42 before or it is disabled.';
  const { b, asset, c, m } = await deployed(t, 'nbt-iam-denied');
  asset.set({ denied });
  const planned = await planFor(c, m);
  assert.deepEqual(planned.actions.filter(isMutating), []);
  assert.equal(b.run.counts().GetIamPolicy, N);
  assert.equal(planned.actual.notes?.length, 1);
  assert.match(
    planned.actual.notes![0]!,
    /read one service at a time \(6 call\(s\)\): .*disabled.*cloudasset\.googleapis\.com/,
  );

  const dir = await mkdtemp(join(tmpdir(), 'nbt-iam-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'm.yaml'), generatedManifest(N, { project: 'nbt-iam-denied' }));
  let err = '';
  const stderr = new PassThrough().on('data', (d: Buffer) => (err += d.toString('utf8')));
  const stdout = new PassThrough().resume();
  assert.equal(await deployCommand('plan', ['-f', join(dir, 'm.yaml')], { stdout, stderr, env: {}, clients: c }), 0);
  assert.match(err, /^note: IAM policies read one service at a time \(6 call\(s\)\)/m);
});

test("a page refused for a rate quota is retried after the server's delay", async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const { b, asset, c, m } = await deployed(t, 'nbt-iam-quota');
  // A server of its own: 2 results a page at most, and the first call refused.
  const again = await startFakeAsset({
    project: { id: 'nbt-iam-quota', number: '42' },
    source: () => indexed(b.run),
    live: true,
    maxPageSize: 2,
    exhaustOnce: { method: 'SearchAllIamPolicies', retryDelayMs: 300 },
  });
  const client = new AssetServiceClient(again.clientOptions());
  t.after(async () => {
    await client.close();
    await again.stop();
  });
  const planned = await planFor({ ...c, asset: client }, m);
  assert.deepEqual(planned.actions.filter(isMutating), []);
  assert.deepEqual(again.counts(), { SearchAllIamPolicies: 1 + Math.ceil(N / 2) }, 'one refused, then each page');
  assert.equal(b.run.counts().GetIamPolicy, undefined);
  assert.equal(asset.calls.length, 0);
});
