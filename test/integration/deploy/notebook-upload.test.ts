/**
 * Notebooks with `source: gs://…` deployed with the REAL @google-cloud/storage client against the
 * repo's Cloud Storage JSON-API server (test/helpers/gcs-server.ts), and the real Run / Scheduler /
 * Pub/Sub clients against the deploy fakes and the Pub/Sub emulator: the first deploy uploads once
 * (ifGenerationMatch=0), a second uploads nothing, a refused upload fails the deploy and leaves the job
 * on its object, a changed notebook uploads the new content and
 * updates the job's message without touching the service; a concurrent upload of the same object
 * (412) is fine; `plan` (the CLI) shows the upload; a bad bucket name is refused before any call.
 * Spec: docs/deploy.md ("Notebooks in Cloud Storage").
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServicesClient } from '@google-cloud/run';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { PubSub } from '@google-cloud/pubsub';
import { applyDeploy, planFor } from '../../../deploy/apply.js';
import type { DeployClients } from '../../../deploy/clients/index.js';
import { createNotebookStore } from '../../../deploy/clients/storage.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { renderPlan } from '../../../deploy/render.js';
import { runCli } from '../../helpers/cli.js';
import { startDeployBackends } from '../../helpers/deploy-backends.js';
import { startGcsServer } from '../../helpers/gcs-server.js';
import { emulatorUnavailableReason, skipUnlessEmulator } from '../../helpers/pubsub-emulator.js';

const PROJECT = 'nbtrigger-sources';
const REGION = 'europe-west1';
const JOB = `projects/${PROJECT}/locations/${REGION}/jobs/src_daily`;
const SERVICE = `projects/${PROJECT}/locations/${REGION}/services/src-sales`;

const manifest = (source = 'gs://team-nb/reports/'): string => `
name: src
project: ${PROJECT}
region: ${REGION}
function: {serviceAccount: fn@${PROJECT}.iam.gserviceaccount.com}
notebooks:
  - name: sales
    file: nb/sales.ipynb
    source: "${source}"
    service: {image: "europe-docker.pkg.dev/${PROJECT}/nbtrigger/notebook:1"}
    schedules:
      - {name: daily, cron: "0 6 * * *", timeZone: Europe/Paris, parameters: {region: EU}}
`;

const notebook = (code: string): string =>
  `${JSON.stringify(
    {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [{ cell_type: 'code', id: 'c1', source: code, metadata: {}, outputs: [], execution_count: null }],
    },
    null,
    1,
  )}\n`;

/**
 * A temp folder, the Cloud Storage server with the bucket `team-nb`, and the deploy backends
 * (trigger seeded); undefined when skipped.
 */
async function backends(t: TestContext) {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'nbt-src-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const gcs = await startGcsServer();
  t.after(() => gcs.close());
  gcs.createBucket('team-nb');
  const { run, sch, ps, seedTrigger, stop } = await startDeployBackends(PROJECT);
  t.after(stop);
  await seedTrigger({ region: REGION, topic: 't_nbtrigger' });
  return { dir, gcs, run, sch, ps };
}

test('deploy uploads a source: notebook once, again only when it changes, and the job names the object', {
  timeout: 180_000,
}, async (t) => {
  const setup = await backends(t);
  if (!setup) return;
  const { dir, gcs, run, sch, ps } = setup;
  const clients: DeployClients = {
    run: new ServicesClient(run.clientOptions()),
    scheduler: new CloudSchedulerClient(sch.clientOptions()),
    pubsub: new PubSub({ projectId: PROJECT, apiEndpoint: ps.host }),
    storage: createNotebookStore({ apiEndpoint: gcs.endpoint }),
  };
  t.after(() => Promise.allSettled([clients.run.close(), clients.scheduler.close(), clients.pubsub.close()]));
  await mkdir(join(dir, 'nb'));
  const file = join(dir, 'm.yaml');
  const nbFile = join(dir, 'nb', 'sales.ipynb');
  await writeFile(file, manifest());
  const load = () => parseManifest(manifest(), file);
  const uploads = () => gcs.requests.filter((r) => r.path.startsWith('/upload/'));
  const jobNotebook = (): string =>
    JSON.parse(Buffer.from(sch.jobs.get(JOB).pubsubTarget.data).toString('utf8')).notebook;
  const objects = () => [...gcs.objects.values()].map((o) => o.name).sort();

  await writeFile(nbFile, notebook('print(1)'));
  await applyDeploy(clients, load());
  assert.equal(uploads().length, 1, 'one upload');
  assert.equal(uploads()[0]!.query.ifGenerationMatch, '0', 'only if the object does not exist');
  const [first] = objects();
  assert.match(first!, /^reports\/sales-[0-9a-f]{16}\.ipynb$/);
  assert.equal(gcs.get('team-nb', first!)!.body.toString('utf8'), notebook('print(1)'));
  assert.equal(jobNotebook(), `gs://team-nb/${first}`);
  const service = JSON.stringify(run.services.get(SERVICE));

  gcs.requests.length = 0;
  run.calls.length = 0;
  sch.calls.length = 0;
  await applyDeploy(clients, load());
  assert.deepEqual(uploads(), [], 'a second deploy uploads nothing');
  assert.deepEqual(
    gcs.requests.map((r) => r.method),
    ['GET'],
    'one existence read',
  );
  assert.deepEqual([...run.mutatingCalls(), ...sch.mutatingCalls()], []);

  await writeFile(nbFile, notebook('print(2)'));
  // A refused upload (403): deploy fails naming it; the job keeps the object it names.
  gcs.failUploads(1, 403);
  await assert.rejects(applyDeploy(clients, load()), (e: Error) => {
    assert.match(e.message, /notebook gs:\/\/team-nb\/reports\/sales-\w{16}\.ipynb: upload .* \(HTTP 403\)/);
    assert.match(
      e.message,
      /job .*src_daily: not written: the upload of its notebook gs:\/\/team-nb\/reports\/sales-\w{16}\.ipynb failed/,
    );
    return true;
  });
  assert.equal(jobNotebook(), `gs://team-nb/${first}`);
  const plan = renderPlan((await planFor(clients, load())).actions);
  assert.match(plan, /^\+ notebook gs:\/\/team-nb\/reports\/sales-[0-9a-f]{16}\.ipynb$/m);
  assert.match(plan, /^~ job {5}.*src_daily$/m);
  gcs.requests.length = 0;
  await applyDeploy(clients, load());
  assert.equal(uploads().length, 1, 'the new content is uploaded');
  const second = objects().find((o) => o !== first)!;
  assert.equal(gcs.get('team-nb', second)!.body.toString('utf8'), notebook('print(2)'));
  assert.ok(gcs.get('team-nb', first!), 'the old object is kept (a running execution may read it)');
  assert.equal(jobNotebook(), `gs://team-nb/${second}`);
  assert.equal(JSON.stringify(run.services.get(SERVICE)), service, 'the service is not changed by a notebook change');
  assert.deepEqual(run.mutatingCalls(), []);

  // Another deploy uploaded the same content between this one's read and its upload: 412, and that is fine.
  gcs.requests.length = 0;
  assert.equal(await clients.storage!.createIfAbsent('team-nb', second, Buffer.from('other bytes')), 'exists');
  assert.equal(gcs.requests.at(-1)?.query.ifGenerationMatch, '0');
  assert.equal(
    gcs.get('team-nb', second)!.body.toString('utf8'),
    notebook('print(2)'),
    'the object is not overwritten',
  );
});

test('the CLI: plan shows the notebook upload; a bad bucket name is refused before any call', {
  timeout: 180_000,
}, async (t) => {
  const setup = await backends(t);
  if (!setup) return;
  const { dir, gcs, run, sch, ps } = setup;
  await mkdir(join(dir, 'nb'));
  await writeFile(join(dir, 'nb', 'sales.ipynb'), notebook('print(1)'));
  const env = {
    NBTRIGGER_RUN_ENDPOINT: `127.0.0.1:${run.port}`,
    NBTRIGGER_SCHEDULER_ENDPOINT: `127.0.0.1:${sch.port}`,
    PUBSUB_EMULATOR_HOST: ps.host,
    STORAGE_EMULATOR_HOST: gcs.endpoint,
    GOOGLE_CLOUD_PROJECT: PROJECT,
  };
  const file = join(dir, 'm.yaml');

  await writeFile(file, manifest());
  const r = await runCli(['plan', '-f', file], { env, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^\+ notebook gs:\/\/team-nb\/reports\/sales-\w{16}\.ipynb\n {6}upload .*nb\/sales\.ipynb \(sha256 \w{16}…\)$/m,
  );
  assert.deepEqual(
    gcs.requests.map((x) => x.method),
    ['GET'],
    'plan reads whether the object exists, uploads nothing',
  );

  for (const [source, rule] of [
    ['gs://Team_NB/', 'storage/docs/buckets#naming'],
    ['gs://goog-nb/', 'storage/docs/buckets#naming'],
    [`gs://team-nb/${'x'.repeat(1010)}/`, 'storage/docs/objects#naming'],
  ] as const) {
    gcs.requests.length = 0;
    run.calls.length = 0;
    sch.calls.length = 0;
    await writeFile(file, manifest(source));
    for (const args of [
      ['plan', '--check', '-f', file],
      ['plan', '-f', file],
    ]) {
      const bad = await runCli(args, { env, timeoutMs: 60_000 });
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(
        bad.stderr,
        new RegExp(`notebooks\\[0\\]\\.source: .*\\(https://cloud\\.google\\.com/${rule.replace(/[.#/]/g, '\\$&')}\\)`),
      );
    }
    assert.deepEqual([gcs.requests.length, run.calls.length, sch.calls.length], [0, 0, 0], `no call for ${source}`);
  }
});
