/**
 * The real `nbtrigger plan | deploy | destroy | publish` commands as child processes, pointed at
 * the in-process Cloud Run / Scheduler gRPC fakes (NBTRIGGER_RUN_ENDPOINT,
 * NBTRIGGER_SCHEDULER_ENDPOINT) and Google's Pub/Sub emulator (PUBSUB_EMULATOR_HOST), with the
 * function and its trigger seeded as the function's deployment and the setup leave them.
 * Spec: docs/deploy.md.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { runCli } from '../../helpers/cli.js';
import { startDeployBackends } from '../../helpers/deploy-backends.js';
import { emulatorUnavailableReason, skipUnlessEmulator } from '../../helpers/pubsub-emulator.js';

const PROJECT = 'nbtrigger-cli';
const MANIFEST = `
name: cli
project: ${PROJECT}
region: us-central1
notebooks:
  - name: hello
    file: examples/hello.ipynb
    service: {image: "gcr.io/${PROJECT}/hello:1"}
    schedules:
      - {name: morning, cron: "0 7 * * 1-5", timeZone: America/New_York}
`;

test('nbtrigger plan --check names the file, the field path and what was expected (exit 2)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbt-cli-'));
  try {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, MANIFEST.replace('0 7 * * 1-5', '0 7 * * 1-5 2024'));
    const r = await runCli(['plan', '--check', '-f', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: ` +
          /notebooks\[0\]\.schedules\[0\]\.cron: expected a 5-field unix-cron/.source,
      ),
    );
    const ok = await runCli(['plan', '--check', '-f', join(process.cwd(), 'infra', 'nbtrigger.yaml')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /valid \(1 notebook\(s\), 2 schedule\(s\)\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--iam-wait takes whole seconds from 0 to 3600, on deploy only (exit 2 otherwise, before any call)', async () => {
  for (const [args, why] of [
    [['deploy', '--iam-wait', '2m'], /--iam-wait must be whole seconds from 0 to 3600, got "2m"/],
    [['deploy', '--iam-wait', '3601'], /--iam-wait must be whole seconds from 0 to 3600/],
    [['plan', '--iam-wait', '60'], /--iam-wait is for deploy/],
  ] as const) {
    const r = await runCli([...args, '-f', 'infra/nbtrigger.yaml']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
  }
  const help = await runCli(['deploy', '--help']);
  assert.match(help.stdout, /--iam-wait SECONDS/);
});

test('nbtrigger plan / deploy / destroy / publish against the fakes and the emulator', {
  timeout: 180_000,
}, async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const dir = await mkdtemp(join(tmpdir(), 'nbt-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { run, sch, ps, seedTrigger, stop } = await startDeployBackends(PROJECT);
  t.after(stop);
  const file = join(dir, 'nbtrigger.yaml');
  await writeFile(file, MANIFEST);
  const env = {
    NBTRIGGER_RUN_ENDPOINT: `127.0.0.1:${run.port}`,
    NBTRIGGER_SCHEDULER_ENDPOINT: `127.0.0.1:${sch.port}`,
    PUBSUB_EMULATOR_HOST: ps.host,
    GOOGLE_CLOUD_PROJECT: PROJECT,
  };
  const cli = (args: string[]) => runCli(args, { env, timeoutMs: 60_000 });

  await t.test('plan with no function: the chain is broken, exit 2', async () => {
    const r = await cli(['plan', '-f', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        /^ {2}ERROR {2}function {4}projects\/nbtrigger-cli\/locations\/us-central1\/services\/runnotebook/.source +
          / {2}\(function runNotebook is not deployed/.source,
        'm',
      ),
    );
    assert.match(r.stdout, /^ {2}ERROR {2}dead-letter {1}projects\/nbtrigger-cli\/topics\/t_nbtrigger-dead-letter/m);
    assert.match(r.stdout, /chain: \d broken link\(s\)/);
  });

  await seedTrigger({ region: 'us-central1', topic: 't_nbtrigger' });

  await t.test('plan shows the actions, the chain and next fire times, and changes nothing', async () => {
    const r = await cli(['plan', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\+ service projects\/nbtrigger-cli\/locations\/us-central1\/services\/cli-hello$/m);
    assert.match(r.stdout, /^= topic {3}projects\/nbtrigger-cli\/topics\/t_nbtrigger \(unchanged\)$/m);
    assert.match(
      r.stdout,
      /^~ subscription projects\/nbtrigger-cli\/subscriptions\/eventarc-us-central1-runnotebook-000000-sub-000$/m,
    );
    assert.match(r.stdout, /^\+ job {5}projects\/nbtrigger-cli\/locations\/us-central1\/jobs\/cli_morning$/m);
    assert.match(r.stdout, /plan: 2 to create, 2 to update, 0 to delete, 1 unchanged/);
    assert.match(
      r.stdout,
      new RegExp(
        [
          /^chain of projects\/nbtrigger-cli\/locations\/us-central1\/jobs\/cli_morning:\n/.source,
          / {2}create job .*\n {2}ok {5}topic .*\n {2}update trigger .*\n/.source,
          / {2}ok {5}dead-letter .*\n {2}ok {5}function .*\n {2}create service /.source,
        ].join(''),
        'm',
      ),
    );
    assert.equal(r.stdout.match(/ {2}next: \d{4}-\d\d-\d\d 07:00 E[SD]T \(-0[45]:00\)/g)?.length, 3, r.stdout);
    assert.deepEqual([...run.mutatingCalls(), ...sch.mutatingCalls()], []);
  });

  await t.test('deploy creates; a second deploy changes nothing', async () => {
    const first = await cli(['deploy', '-f', file]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /create service .*cli-hello/);
    // Local endpoints need no credentials: no Application Default Credentials / metadata lookup.
    assert.doesNotMatch(first.stderr, /MetadataLookupWarning|Could not load the default credentials/);
    assert.deepEqual([...sch.jobs.keys()], [`projects/${PROJECT}/locations/us-central1/jobs/cli_morning`]);
    const before = run.mutatingCalls().length + sch.mutatingCalls().length;
    // CreateService, SetIamPolicy, CreateJob (and the subscription's dead-letter policy, in the emulator)
    assert.equal(before, 3);
    const second = await cli(['deploy', '-f', file, '--json']);
    assert.equal(second.code, 0, second.stderr);
    const actions = JSON.parse(second.stdout) as Array<{ op: string }>;
    assert.ok(
      actions.every((a) => a.op === 'noop'),
      second.stdout,
    );
    assert.equal(run.mutatingCalls().length + sch.mutatingCalls().length, before);
  });

  await t.test('publish sends the message (checked with the function grammar) to the emulator', async () => {
    const sub = `http://${ps.host}/v1/projects/${PROJECT}/subscriptions/s_cli`;
    const put = await request(sub, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: `projects/${PROJECT}/topics/t_nbtrigger` }),
    });
    assert.equal(put.statusCode, 200, await put.body.text());
    const r = await cli([
      'publish',
      't_nbtrigger',
      '--message',
      'host.example:8888 /nb.ipynb --use-https',
      '--attribute',
      'origin=cli',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^\d+$/);
    const bad = await cli(['publish', 't_nbtrigger', '--message', 'host:1 /nb.ipynb --nope']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown flag "--nope"/);
    const pulled = await request(`${sub}:pull`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxMessages: 10 }),
    });
    const body = (await pulled.body.json()) as {
      receivedMessages?: Array<{ message: { data: string; messageId: string; attributes?: Record<string, string> } }>;
    };
    assert.deepEqual(
      body.receivedMessages?.map((m) => [
        m.message.messageId,
        Buffer.from(m.message.data, 'base64').toString('utf8'),
        m.message.attributes,
      ]),
      [[id, 'host.example:8888 /nb.ipynb --use-https', { origin: 'cli' }]],
    );
  });

  await t.test(
    'a build: service with no known image: plan and deploy refuse ' +
      'it by name; plan --check stays offline; --built-image gives it',
    async () => {
      const built = join(dir, 'built.yaml');
      await writeFile(
        built,
        MANIFEST.replace(
          `service: {image: "gcr.io/${PROJECT}/hello:1"}`,
          'service: {name: built-hello, build: notebook-image}',
        ),
      );
      const before = run.mutatingCalls().length + sch.mutatingCalls().length;
      for (const verb of ['plan', 'deploy']) {
        const r = await cli([verb, '-f', built]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(
            /no image is known for service built-hello .*/.source +
              /pass --built-image us-central1-docker\.pkg\.dev\/nbtrigger-cli\/nbtrigger\/notebook:TAG/.source,
          ),
        );
      }
      assert.equal(run.mutatingCalls().length + sch.mutatingCalls().length, before, 'nothing was deployed');
      assert.equal((await cli(['plan', '--check', '-f', built])).code, 0);
      const ref = 'us-central1-docker.pkg.dev/nbtrigger-cli/nbtrigger/notebook:b42';
      const plan = await cli(['plan', '-f', built, '--built-image', ref, '--json']);
      assert.equal(plan.code, 0, plan.stderr);
      assert.ok(run.calls.every((x) => x.method !== 'CreateService' || x.request.serviceId !== 'built-hello'));
      const unpinned = await cli([
        'plan',
        '-f',
        built,
        '--built-image',
        'us-central1-docker.pkg.dev/nbtrigger-cli/nbtrigger/notebook',
      ]);
      assert.equal(unpinned.code, 2);
      assert.match(unpinned.stderr, /explicit tag or digest/);
      const deployed = await cli(['deploy', '-f', built, '--built-image', ref]);
      assert.equal(deployed.code, 0, deployed.stderr);
      assert.equal(
        run.services.get(`projects/${PROJECT}/locations/us-central1/services/built-hello`).template.containers[0].image,
        ref,
      );
      // From a workstation, without --built-image, the image the service runs is kept: no image change.
      const again = await cli(['plan', '-f', built]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(
        again.stdout,
        /^= service projects\/nbtrigger-cli\/locations\/us-central1\/services\/built-hello \(unchanged\)$/m,
      );
      assert.equal((await cli(['destroy', '-f', built])).code, 0);
    },
  );

  await t.test('destroy removes the deployment', async () => {
    const r = await cli(['destroy', '-f', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sch.jobs.size, 0);
    assert.deepEqual(
      [...run.services.keys()],
      [`projects/${PROJECT}/locations/us-central1/services/runnotebook`],
      'only the function is left',
    );
    const topic = await request(`http://${ps.host}/v1/projects/${PROJECT}/topics/t_nbtrigger`);
    await topic.body.dump();
    assert.equal(topic.statusCode, 200, "the function's topic is left");
  });
});
