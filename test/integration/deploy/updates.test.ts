/**
 * What deploy does to resources that already exist, with the REAL clients against the Run and
 * Scheduler gRPC fakes and the Pub/Sub emulator: an update keeps what was set by hand (labels,
 * annotations, other variables, VPC access) and fails on a concurrent change (stale etag) instead
 * of overwriting it; the fakes refuse what the APIs refuse; a PAUSED job is shown and left paused,
 * an UPDATE_FAILED one is updated again; `--write-allowed-servers` holds this deployment's services
 * and nothing else. Skips without the emulator, except under CI=true.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ServicesClient } from '@google-cloud/run';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { PubSub } from '@google-cloud/pubsub';
import { isNbtError } from '../../../functions/errors.js';
import { applyDeploy, planFor } from '../../../deploy/apply.js';
import type { DeployClients } from '../../../deploy/clients/index.js';
import { setDeadLetterPolicy } from '../../../deploy/clients/pubsub.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { RULES } from '../../../deploy/rules.js';
import { deployCommand } from '../../../cli/commands/deploy-command.js';
import { startDeployBackends } from '../../helpers/deploy-backends.js';
import { emulatorUnavailableReason, skipUnlessEmulator } from '../../helpers/pubsub-emulator.js';

const PROJECT = 'nbtrigger-updates';
const LOC = `projects/${PROJECT}/locations/europe-west1`;
const SALES = `${LOC}/services/reports-sales`;
const NIGHTLY = `${LOC}/jobs/reports_nightly`;

const yaml = (memory = '4Gi', name = 'reports', extra = ''): string => `
name: ${name}
project: ${PROJECT}
region: europe-west1
function: {serviceAccount: fn@${PROJECT}.iam.gserviceaccount.com${extra}}
topic: t_reports
notebooks:
  - name: sales
    file: sales.ipynb
    service: {image: "gcr.io/p/sales:1", cpu: 2, memory: ${memory}}
    schedules:
      - {name: nightly, cron: "0 2 * * *"}
  - name: ops
    file: ops.ipynb
    service: {image: "gcr.io/p/ops:1"}
`;

const sink = (): Writable & { text: string } => {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
};

test('updates, refusals, job state and the allowlist against the fakes and the emulator', {
  timeout: 180_000,
}, async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const { run, sch, ps, seedTrigger, stop } = await startDeployBackends(PROJECT);
  const c: DeployClients = {
    run: new ServicesClient(run.clientOptions()),
    scheduler: new CloudSchedulerClient(sch.clientOptions()),
    pubsub: new PubSub({ projectId: PROJECT, apiEndpoint: ps.host }),
  };
  t.after(async () => {
    await Promise.allSettled([c.run.close(), c.scheduler.close(), c.pubsub.close()]);
    await stop();
  });
  await seedTrigger({ region: 'europe-west1', topic: 't_reports' });
  await applyDeploy(c, parseManifest(yaml(), 'm.yaml'));

  await t.test('an update keeps what was set by hand and sets only what nbtrigger owns', async () => {
    const s = run.services.get(SALES);
    s.annotations = { 'team.example.com/owner': 'data' };
    s.labels = { ...s.labels, team: 'data' };
    s.template.labels = { ...s.template.labels, tier: 'gold' };
    s.template.vpcAccess = { connector: `${LOC}/connectors/c1` };
    s.template.containers[0].env.push({ name: 'EXTRA', value: 'kept' });
    s.template.revision = 'reports-sales-by-hand';
    run.calls.length = 0;
    await applyDeploy(c, parseManifest(yaml('8Gi'), 'm.yaml'));
    assert.deepEqual(
      run.mutatingCalls().map((x) => x.method),
      ['UpdateService'],
    );
    const after = run.services.get(SALES);
    assert.equal(after.template.containers[0].resources.limits.memory, '8Gi');
    assert.deepEqual(after.annotations, { 'team.example.com/owner': 'data' });
    assert.equal(after.labels.team, 'data');
    assert.equal(after.labels['nbtrigger-deployment'], 'reports');
    assert.equal(after.template.labels.tier, 'gold');
    assert.equal(after.template.vpcAccess?.connector, `${LOC}/connectors/c1`);
    assert.deepEqual(after.template.containers[0].env.map((e: { name: string }) => e.name).sort(), [
      'EXTRA',
      'JUPYTER_TOKEN',
    ]);
    assert.equal(after.template.revision, undefined, 'a hand-set revision name is not reused for a new configuration');
  });

  await t.test(
    'a change made between the read and the update fails the update (ABORTED) instead of being overwritten',
    async () => {
      run.beforeUpdate = (name) => {
        const s = run.services.get(name);
        s.etag = '"someone-else"';
        s.template.containers[0].image = 'gcr.io/p/hotfix:9';
      };
      try {
        await assert.rejects(applyDeploy(c, parseManifest(yaml('4Gi'), 'm.yaml')), (e: unknown) => {
          assert.ok(isNbtError(e));
          assert.match(
            e.message,
            /update Cloud Run service .*reports-sales failed: etag .* does not match .*\(gRPC code 10\)/,
          );
          return true;
        });
      } finally {
        run.beforeUpdate = undefined;
      }
      assert.equal(
        run.services.get(SALES).template.containers[0].image,
        'gcr.io/p/hotfix:9',
        'the concurrent change is kept',
      );
      await applyDeploy(c, parseManifest(yaml('4Gi'), 'm.yaml'));
      assert.equal(run.services.get(SALES).template.containers[0].resources.limits.memory, '4Gi');
    },
  );

  await t.test('the fakes refuse what the APIs refuse, naming the rule', async () => {
    const tpl = {
      containers: [{ image: 'x', resources: { limits: { cpu: '0.5', memory: '2Gi' }, cpuIdle: true } }],
      maxInstanceRequestConcurrency: 1,
    };
    await assert.rejects(
      c.run.createService({ parent: LOC, serviceId: 'bad-memory', service: { template: tpl } }),
      (e: { code?: number; details?: string }) =>
        e.code === 3 && String(e.details).includes(RULES.fractionalMemory.url),
    );
    const conc = {
      containers: [{ image: 'x', resources: { limits: { cpu: '0.5', memory: '512Mi' }, cpuIdle: true } }],
      maxInstanceRequestConcurrency: 10,
    };
    await assert.rejects(
      c.run.createService({ parent: LOC, serviceId: 'bad-concurrency', service: { template: conc } }),
      (e: { code?: number; details?: string }) =>
        e.code === 3 && String(e.details).includes(RULES.fractionalConcurrency.text),
    );
    await assert.rejects(
      c.run.updateService({
        service: { name: SALES, annotations: { 'run.googleapis.com/ingress': 'all' } },
        updateMask: { paths: ['annotations'] },
      }),
      (e: { code?: number; details?: string }) => e.code === 3 && String(e.details).includes(RULES.annotations.url),
    );
    const job = {
      name: `${LOC}/jobs/retry`,
      schedule: '0 1 * * *',
      pubsubTarget: { topicName: `projects/${PROJECT}/topics/t_reports`, data: Buffer.from('x') },
    };
    await assert.rejects(
      c.scheduler.createJob({ parent: LOC, job: { ...job, retryConfig: { retryCount: 6 } } }),
      (e: { code?: number; details?: string }) => e.code === 3 && String(e.details).includes(RULES.retryCount.url),
    );
    await assert.rejects(
      c.scheduler.createJob({ parent: LOC, job: { ...job, description: 'x'.repeat(501) } }),
      (e: { code?: number; details?: string }) => e.code === 3 && String(e.details).includes(RULES.jobDescription.text),
    );
    await assert.rejects(
      c.scheduler.createJob({ parent: LOC, job: { ...job, schedule: '0 0 1 * * *' } }),
      (e: { code?: number; details?: string }) => e.code === 3 && String(e.details).includes(RULES.schedule.url),
    );
    assert.equal(run.services.has(`${LOC}/services/bad-memory`), false);
    // The emulator enforces the Pub/Sub rule itself.
    const [subs] = await c.pubsub.topic(`projects/${PROJECT}/topics/t_reports`).getSubscriptions();
    await assert.rejects(
      setDeadLetterPolicy(c.pubsub, subs[0]!.name, {
        deadLetterTopic: `projects/${PROJECT}/topics/t_reports-dead-letter`,
        maxDeliveryAttempts: 4,
      }),
      /minimum value is 5/,
    );
  });

  await t.test('a PAUSED job is shown and left paused; an UPDATE_FAILED job is updated again', async () => {
    await c.scheduler.pauseJob({ name: NIGHTLY });
    const plan = await planFor(c, parseManifest(yaml(), 'm.yaml'));
    const a = plan.actions.find((x) => x.name === NIGHTLY)!;
    assert.equal(a.op, 'noop');
    assert.match(a.notes?.join() ?? '', /PAUSED: left paused/);
    const link = plan.chains.find((ch) => ch.job === NIGHTLY)!.links[0]!;
    assert.deepEqual([link.status, link.detail], ['warn', 'PAUSED: publishes nothing until resumed']);
    sch.calls.length = 0;
    await applyDeploy(c, parseManifest(yaml(), 'm.yaml'));
    assert.deepEqual(sch.mutatingCalls(), []);
    assert.equal(sch.jobs.get(NIGHTLY).state, 'PAUSED');

    sch.jobs.get(NIGHTLY).state = 'UPDATE_FAILED';
    const replan = await planFor(c, parseManifest(yaml(), 'm.yaml'));
    assert.equal(replan.actions.find((x) => x.name === NIGHTLY)!.op, 'update');
    await applyDeploy(c, parseManifest(yaml(), 'm.yaml'));
    assert.deepEqual(
      sch.mutatingCalls().map((x) => x.method),
      ['UpdateJob'],
    );
    assert.equal(sch.jobs.get(NIGHTLY).state, 'ENABLED');
    sch.calls.length = 0;
    await applyDeploy(c, parseManifest(yaml(), 'm.yaml'));
    assert.deepEqual(sch.mutatingCalls(), [], 'and then it holds');
  });

  await t.test(
    "--write-allowed-servers holds this deployment's services " +
      "(and the extras), not another deployment's nor foreign ones",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'nbt-allow-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      // Another deployment, and a service nobody deployed with nbtrigger, in the same location.
      await applyDeploy(c, parseManifest(yaml('4Gi', 'billing'), 'b.yaml'));
      run.put(`${LOC}/services/by-hand`, {});
      const manifestFile = join(dir, 'm.yaml');
      await writeFile(manifestFile, yaml('4Gi', 'reports', ', allowedServers: ["files.example.com:443"]'));
      const out = join(dir, 'allowed.txt');
      const [stdout, stderr] = [sink(), sink()];
      const code = await deployCommand('deploy', ['-f', manifestFile, '--write-allowed-servers', out], {
        stdout,
        stderr,
        env: {},
        clients: c,
      });
      assert.equal(code, 0, stderr.text);
      const hostOf = (name: string): string => `${new URL(run.services.get(name).uri).hostname}:443`;
      assert.equal(
        await readFile(out, 'utf8'),
        [hostOf(SALES), hostOf(`${LOC}/services/reports-ops`), 'files.example.com:443'].join(','),
      );
      assert.equal(
        run.services.has(`${LOC}/services/billing-sales`),
        true,
        'the other deployment is there, and not in the list',
      );
    },
  );
});
