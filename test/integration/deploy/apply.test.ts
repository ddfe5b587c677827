/**
 * deploy / destroy with the REAL @google-cloud/run and @google-cloud/scheduler clients talking
 * gRPC to in-process fakes built from the packages' own .proto files, and the REAL
 * @google-cloud/pubsub client against Google's Pub/Sub emulator. Asserts on the requests the
 * servers received, idempotency (a second deploy makes no mutating call), prune and destroy.
 * The function, its trigger subscription and the dead-letter topic are seeded first, as the
 * function's deployment and the one-time setup leave them (deploy refuses a broken chain).
 * Skips with a notice without the emulator, except under CI=true. Spec: docs/deploy.md.
 * The manifest and the foreign resources are in apply-manifest.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServicesClient } from '@google-cloud/run';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { PubSub } from '@google-cloud/pubsub';
import { request } from 'undici';
import { isNbtError } from '../../../functions/errors.js';
import { decodeData, parseMessage } from '../../../functions/request/grammar.js';
import { applyDeploy, applyDestroy, planFor } from '../../../deploy/apply.js';
import type { DeployClients } from '../../../deploy/clients/index.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { startDeployBackends } from '../../helpers/deploy-backends.js';
import { emulatorUnavailableReason, skipUnlessEmulator } from '../../helpers/pubsub-emulator.js';
import { FN, LOC, PROJECT, seedForeignResources, TOPIC, yaml } from './apply-manifest.js';

test('deploy and destroy against fake Cloud Run / Scheduler gRPC servers and the Pub/Sub emulator', {
  timeout: 180_000,
}, async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  let clients: DeployClients | undefined;
  const { run, sch, ps, seedTrigger, stop } = await startDeployBackends(PROJECT);
  t.after(async () => {
    await Promise.allSettled([clients?.run.close(), clients?.scheduler.close(), clients?.pubsub.close()]);
    await stop();
  });
  clients = {
    run: new ServicesClient(run.clientOptions()),
    scheduler: new CloudSchedulerClient(sch.clientOptions()),
    pubsub: new PubSub({ projectId: PROJECT, apiEndpoint: ps.host }),
  };
  const c = clients;
  const topicOnEmulator = async (): Promise<{
    status: number;
    body: { labels?: Record<string, string> } | undefined;
  }> => {
    const res = await request(`http://${ps.host}/v1/${TOPIC}`);
    return {
      status: res.statusCode,
      body: (await res.body.json().catch(() => undefined)) as { labels?: Record<string, string> } | undefined,
    };
  };
  const reset = (): void => {
    run.calls.length = 0;
    sch.calls.length = 0;
  };
  const FN_SERVICE = `${LOC}/services/runnotebook`;

  await t.test('with no function deployed, deploy is refused before any change, naming the broken links', async () => {
    await assert.rejects(applyDeploy(c, parseManifest(yaml(), 'm.yaml')), (e: unknown) => {
      assert.ok(isNbtError(e));
      assert.equal(e.code, 'REQUEST_REJECTED');
      assert.match(e.message, /function runNotebook is not deployed/);
      assert.match(e.message, /dead-letter topic does not exist/);
      return true;
    });
    assert.deepEqual([...run.mutatingCalls(), ...sch.mutatingCalls()], []);
  });
  const seeded = await seedTrigger({ region: 'europe-west1', topic: 't_reports' });

  seedForeignResources(run, sch);

  await t.test(
    'first deploy creates the services (waiting on the operation), grants invoker, ' +
      'sets the trigger dead-letter policy, creates the jobs',
    async () => {
      reset();
      await applyDeploy(c, parseManifest(yaml(), 'm.yaml'));
      const create = run.calls.filter((x) => x.method === 'CreateService');
      assert.equal(create.length, 1);
      const req = create[0]!.request;
      assert.equal(req.parent, LOC);
      assert.equal(req.serviceId, 'reports-sales');
      assert.deepEqual(req.service.labels, { 'managed-by': 'nbtrigger', 'nbtrigger-deployment': 'reports' });
      assert.equal(req.service.invokerIamDisabled ?? false, false);
      const tpl = req.service.template;
      assert.equal(tpl.containers[0].image, 'europe-docker.pkg.dev/p/nb/sales:v1');
      assert.deepEqual(tpl.containers[0].resources.limits, { cpu: '2', memory: '4Gi' });
      assert.deepEqual(tpl.containers[0].env, [
        {
          name: 'JUPYTER_TOKEN',
          valueSource: { secretKeyRef: { secret: 'nbtrigger-jupyter-token', version: 'latest' } },
          values: 'valueSource',
        },
      ]);
      assert.deepEqual(tpl.scaling, { minInstanceCount: 0, maxInstanceCount: 1 });
      assert.equal(tpl.timeout.seconds, '1800');
      // Waited on the long-running operation before going on.
      const methods = run.calls.map((x) => x.method);
      assert.ok(methods.indexOf('GetOperation') > methods.indexOf('CreateService'), methods.join(','));
      const setIam = run.calls.filter((x) => x.method === 'SetIamPolicy');
      assert.equal(setIam.length, 1);
      assert.equal(setIam[0]!.request.resource, `${LOC}/services/reports-sales`);
      assert.deepEqual(setIam[0]!.request.policy.bindings, [{ role: 'roles/run.invoker', members: [FN] }]);

      // The function's deployment made the topic: used as is. Its trigger subscription gets the dead-letter policy.
      const topic = await topicOnEmulator();
      assert.equal(topic.status, 200);
      assert.equal(topic.body?.labels, undefined);
      const [sub] = await c.pubsub.subscription(seeded.subscription).getMetadata();
      assert.equal(sub.deadLetterPolicy?.deadLetterTopic, seeded.deadLetterTopic);
      assert.equal(sub.deadLetterPolicy?.maxDeliveryAttempts, 5);
      assert.match(String(sub.pushConfig?.pushEndpoint), /^https:\/\/runnotebook-/, 'the push config is kept');
      assert.equal(tpl.maxInstanceRequestConcurrency, 80);
      assert.deepEqual(
        [tpl.containers[0].resources.cpuIdle, tpl.containers[0].resources.startupCpuBoost],
        [true, true],
        'billing and boost are explicit',
      );

      const jobs = sch.calls.filter((x) => x.method === 'CreateJob').map((x) => x.request);
      assert.deepEqual(
        jobs.map((j) => j.job.name),
        [`${LOC}/jobs/reports_nightly`, `${LOC}/jobs/reports_hourly`],
      );
      const nightly = jobs[0]!.job;
      assert.equal(jobs[0]!.parent, LOC);
      assert.equal(nightly.schedule, '0 2 * * *');
      assert.equal(nightly.timeZone, 'Europe/Paris');
      assert.equal(nightly.pubsubTarget.topicName, TOPIC);
      assert.deepEqual(nightly.pubsubTarget.attributes, {
        'managed-by': 'nbtrigger',
        'nbtrigger-deployment': 'reports',
        'nbtrigger-schedule': 'nightly',
        'nbtrigger-concurrency': 'skip',
      });
      // The function parses exactly what the job carries, naming the service's real URL.
      const uri = new URL(run.services.get(`${LOC}/services/reports-sales`).uri);
      assert.deepEqual(parseMessage(decodeData(Buffer.from(nightly.pubsubTarget.data).toString('base64'))), {
        server: { host: uri.hostname, port: 443, secure: true },
        notebook: 'notebooks/sales.ipynb',
        verbose: false,
        timeouts: {},
        parameters: { region: 'EU' },
        output: 'gs://b/runs/',
      });
      assert.equal(
        Buffer.from(jobs[1]!.job.pubsubTarget.data).toString('utf8'),
        `${uri.hostname}:443 /notebooks/sales.ipynb --use-https`,
      );
      assert.equal(jobs[1]!.job.pubsubTarget.attributes['nbtrigger-concurrency'], 'allow');
    },
  );

  await t.test('a second deploy with no change makes no mutating call', async () => {
    reset();
    const done = await applyDeploy(c, parseManifest(yaml(), 'm.yaml'));
    assert.deepEqual(run.mutatingCalls(), []);
    assert.deepEqual(sch.mutatingCalls(), []);
    assert.ok(
      done.every((a) => a.op === 'noop'),
      JSON.stringify(done.map((a) => [a.op, a.name])),
    );
    assert.ok(
      run.calls.some((x) => x.method === 'ListServices') && sch.calls.some((x) => x.method === 'ListJobs'),
      'it did read the state',
    );
  });

  await t.test('plan changes nothing and reports the changes a new manifest makes', async () => {
    reset();
    const { actions } = await planFor(c, parseManifest(yaml({ cron: '0 3 * * *', extraSchedule: false }), 'm.yaml'));
    assert.deepEqual(run.mutatingCalls(), []);
    assert.deepEqual(sch.mutatingCalls(), []);
    assert.deepEqual(
      actions.filter((a) => a.op !== 'noop').map((a) => `${a.op} ${a.name}`),
      [`update ${LOC}/jobs/reports_nightly`, `delete ${LOC}/jobs/reports_hourly`],
    );
  });

  await t.test(
    'changed image and cron update in place; a removed schedule is pruned; foreign jobs are kept',
    async () => {
      reset();
      await applyDeploy(
        c,
        parseManifest(
          yaml({ cron: '0 3 * * *', image: 'europe-docker.pkg.dev/p/nb/sales:v2', extraSchedule: false }),
          'm.yaml',
        ),
      );
      assert.deepEqual(
        run.mutatingCalls().map((x) => x.method),
        ['UpdateService'],
      );
      const upd = run.calls.find((x) => x.method === 'UpdateService')!.request;
      assert.equal(upd.service.name, `${LOC}/services/reports-sales`);
      assert.equal(upd.service.template.containers[0].image, 'europe-docker.pkg.dev/p/nb/sales:v2');
      assert.deepEqual(upd.updateMask.paths, ['labels', 'template', 'invoker_iam_disabled']);
      assert.match(upd.service.etag, /^"e\d+"$/, 'the etag read just before is sent');
      assert.deepEqual(
        sch.mutatingCalls().map((x) => `${x.method} ${x.request.job?.name ?? x.request.name}`),
        [`UpdateJob ${LOC}/jobs/reports_nightly`, `DeleteJob ${LOC}/jobs/reports_hourly`],
      );
      const uj = sch.calls.find((x) => x.method === 'UpdateJob')!.request;
      assert.equal(uj.job.schedule, '0 3 * * *');
      assert.deepEqual(uj.updateMask.paths, ['description', 'schedule', 'time_zone', 'pubsub_target']);
      assert.deepEqual([...sch.jobs.keys()].sort(), [
        `${LOC}/jobs/billing_daily`,
        `${LOC}/jobs/by-hand`,
        `${LOC}/jobs/reports_nightly`,
      ]);
    },
  );

  await t.test('a public service is made private again', async () => {
    const name = `${LOC}/services/reports-sales`;
    const p = run.policies.get(name);
    run.policies.set(name, {
      ...p,
      bindings: [
        { role: 'roles/run.invoker', members: ['allUsers', FN] },
        { role: 'roles/run.developer', members: ['user:a@b.c'] },
      ],
    });
    reset();
    await applyDeploy(
      c,
      parseManifest(
        yaml({ cron: '0 3 * * *', image: 'europe-docker.pkg.dev/p/nb/sales:v2', extraSchedule: false }),
        'm.yaml',
      ),
    );
    assert.deepEqual(
      run.mutatingCalls().map((x) => x.method),
      ['SetIamPolicy'],
    );
    assert.deepEqual(run.policies.get(name).bindings, [
      { role: 'roles/run.invoker', members: [FN] },
      { role: 'roles/run.developer', members: ['user:a@b.c'] },
    ]);
  });

  await t.test('a name clash with a service nbtrigger did not make is refused before any change', async () => {
    reset();
    await assert.rejects(applyDeploy(c, parseManifest(yaml({ extraNotebook: true }), 'm.yaml')), (e: unknown) => {
      assert.ok(isNbtError(e));
      assert.equal(e.code, 'REQUEST_REJECTED', e.message);
      assert.match(e.message, /foreign-svc exists but was not made by nbtrigger deployment "reports"/);
      return true;
    });
    assert.deepEqual(run.mutatingCalls(), []);
    assert.deepEqual(sch.mutatingCalls(), []);
  });

  await t.test('destroy removes what the deployment made and nothing else; a second destroy does nothing', async () => {
    reset();
    const m = parseManifest(yaml(), 'm.yaml');
    await applyDestroy(c, m);
    assert.deepEqual(
      sch.mutatingCalls().map((x) => `${x.method} ${x.request.name}`),
      [`DeleteJob ${LOC}/jobs/reports_nightly`],
    );
    assert.deepEqual(
      run.mutatingCalls().map((x) => `${x.method} ${x.request.name}`),
      [`DeleteService ${LOC}/services/reports-sales`],
    );
    assert.ok(
      run.calls.some((x) => x.method === 'GetOperation'),
      'waited on the delete operation',
    );
    assert.deepEqual([...sch.jobs.keys()].sort(), [`${LOC}/jobs/billing_daily`, `${LOC}/jobs/by-hand`]);
    assert.deepEqual([...run.services.keys()].sort(), [`${LOC}/services/foreign-svc`, FN_SERVICE]);
    assert.equal((await topicOnEmulator()).status, 200, "the function's topic is not nbtrigger's to delete");
    reset();
    const again = await applyDestroy(c, m);
    assert.deepEqual(
      again.map((x) => `${x.op} ${x.resource}`),
      ['noop topic'],
    );
    assert.deepEqual([...run.mutatingCalls(), ...sch.mutatingCalls()], []);
  });

  await t.test('destroy keeps a topic nbtrigger did not make', async () => {
    await applyDestroy(c, parseManifest(yaml(), 'm.yaml'));
    assert.equal((await topicOnEmulator()).status, 200);
  });
});
