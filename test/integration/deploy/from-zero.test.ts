/**
 * From an empty project to a scheduled notebook, and back: empty Run and Scheduler gRPC fakes and
 * an empty Pub/Sub emulator; the Pub/Sub part of the one-time setup done with the real `gcloud`
 * (the dead-letter topic and its subscription); the function's deployment stood in for by its
 * Cloud Run service in the Run fake and, as Eventarc makes it, a push subscription on the topic to
 * the function served by functions-framework; then the real `nbtrigger deploy`.
 *
 * The notebook's Cloud Run service is a real local Jupyter server: the Run fake gives the service
 * it creates that server's URL as its `uri`, so the Scheduler job's message names it, and
 * `--write-allowed-servers` writes it for the function's ALLOWED_SERVERS.
 *
 * Then: a second deploy makes no mutating call; the Scheduler job's payload (from the fake's stored
 * job), published into the emulator, runs the notebook through the trigger subscription; with the
 * server stopped, the same payload fails on every delivery and lands on the dead-letter topic after
 * maxDeliveryAttempts; destroy leaves the function, its trigger and the setup's resources, nothing
 * of the deployment. Skips without the emulator, except under CI=true.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { freePort } from '../../../cli/local/jupyter-server.js';
import { runCli } from '../../helpers/cli.js';
import { startDeployBackends, type DeployBackends } from '../../helpers/deploy-backends.js';
import {
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
} from '../../helpers/functions-framework.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';
import { emulatorUnavailableReason, skipUnlessEmulator } from '../../helpers/pubsub-emulator.js';

const PROJECT = 'nbtrigger-zero';
const REGION = 'europe-west1';
const LOC = `projects/${PROJECT}/locations/${REGION}`;
const TOPIC = 't_nbtrigger';
const ATTEMPTS = 5;
const TRIGGER = `eventarc-${REGION}-runnotebook-000000-sub-000`;

const MANIFEST = `
name: zero
project: ${PROJECT}
region: ${REGION}
function: {serviceAccount: nbtrigger-function@${PROJECT}.iam.gserviceaccount.com, maxDeliveryAttempts: ${ATTEMPTS}}
notebooks:
  - name: hello
    file: hello.ipynb
    service: {image: "${REGION}-docker.pkg.dev/${PROJECT}/nbtrigger/notebook:abc123"}
    schedules:
      - name: morning
        cron: "0 7 * * 1-5"
        timeZone: Europe/Paris
        parameters: {n: 4}
        timeouts: {start: 2s}
`;

test('from zero: setup → deploy → idempotent → a scheduled message runs the notebook → dead letters → destroy', {
  timeout: 300_000,
}, async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  const dir = await mkdtemp(join(tmpdir(), 'nbt-zero-'));
  let backends: DeployBackends | undefined;
  let jup: TestServer | undefined;
  let ff: FunctionServer | undefined;
  t.after(async () => {
    await ff?.stop();
    await jup?.close();
    await backends?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  jup = await startTestServer();
  await jup.writeNotebook('hello.ipynb', [{ source: 'n = 1', tags: ['parameters'] }, 'n * 10']);
  const jupyterUrl = `http://${jup.hostPort}`;
  backends = await startDeployBackends(PROJECT, { uriFor: (id) => (id === 'zero-hello' ? jupyterUrl : undefined) });
  const { run, sch, ps } = backends;
  const j = jup;
  const gcloud = (...args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile('gcloud', args, { env: { ...process.env, ...ps.gcloudEnv }, timeout: 60_000 }, (err, so, se) =>
        err ? reject(new Error(`gcloud ${args.join(' ')}: ${se}`)) : resolve(so),
      );
    });
  const api = `http://${ps.host}/v1/projects/${PROJECT}`;
  const names = async (kind: 'topics' | 'subscriptions'): Promise<string[]> => {
    const body = (await (await request(`${api}/${kind}`)).body.json()) as Record<
      string,
      Array<{ name: string }> | undefined
    >;
    return (body[kind] ?? []).map((x) => x.name.slice(x.name.lastIndexOf('/') + 1)).sort();
  };

  // The one-time setup's Pub/Sub part, with the real gcloud against the emulator.
  await gcloud('pubsub', 'topics', 'create', `${TOPIC}-dead-letter`);
  await gcloud('pubsub', 'subscriptions', 'create', `${TOPIC}-dead-letter-sub`, `--topic=${TOPIC}-dead-letter`);
  // The function's deployment (gcloud functions deploy --trigger-topic): its topic, its Cloud Run
  // service, and Eventarc's push subscription to it. Short retry delays keep the test short.
  const fnPort = await freePort();
  const fnUrl = `http://127.0.0.1:${fnPort}`;
  await gcloud('pubsub', 'topics', 'create', TOPIC);
  run.put(`${LOC}/services/runnotebook`, { uri: fnUrl, urls: [fnUrl] });
  await gcloud(
    'pubsub',
    'subscriptions',
    'create',
    TRIGGER,
    `--topic=${TOPIC}`,
    `--push-endpoint=${fnUrl}/projects/${PROJECT}/topics/${TOPIC}`,
    '--ack-deadline=60',
    '--min-retry-delay=1s',
    '--max-retry-delay=2s',
  );

  const manifest = join(dir, 'nbtrigger.yaml');
  const allowed = join(dir, 'allowed-servers');
  await writeFile(manifest, MANIFEST);
  const env = {
    NBTRIGGER_RUN_ENDPOINT: `127.0.0.1:${run.port}`,
    NBTRIGGER_SCHEDULER_ENDPOINT: `127.0.0.1:${sch.port}`,
    PUBSUB_EMULATOR_HOST: ps.host,
  };
  const cli = (args: string[]) => runCli(args, { env, timeoutMs: 60_000 });
  const job = `${LOC}/jobs/zero_morning`;

  await t.test(
    'deploy: the service, its invoker, the dead-letter policy on the trigger, the job; the allowlist names the service',
    async () => {
      const r = await cli(['deploy', '-f', manifest, '--write-allowed-servers', allowed]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(run.services.has(`${LOC}/services/zero-hello`));
      assert.ok(sch.jobs.has(job));
      assert.equal(await readFile(allowed, 'utf8'), j.hostPort);
      const sub = (await (await request(`${api}/subscriptions/${TRIGGER}`)).body.json()) as {
        deadLetterPolicy?: unknown;
        pushConfig?: { pushEndpoint?: string };
      };
      assert.deepEqual(sub.deadLetterPolicy, {
        deadLetterTopic: `projects/${PROJECT}/topics/${TOPIC}-dead-letter`,
        maxDeliveryAttempts: ATTEMPTS,
      });
      assert.equal(sub.pushConfig?.pushEndpoint, `${fnUrl}/projects/${PROJECT}/topics/${TOPIC}`);
    },
  );

  await t.test('a second deploy makes no mutating call, and plan shows every link of the chain holding', async () => {
    const before = { run: run.mutatingCalls().length, sch: sch.mutatingCalls().length };
    const r = await cli(['deploy', '-f', manifest, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      (JSON.parse(r.stdout) as Array<{ op: string }>).every((a) => a.op === 'noop'),
      r.stdout,
    );
    assert.deepEqual({ run: run.mutatingCalls().length, sch: sch.mutatingCalls().length }, before);
    const plan = await cli(['plan', '-f', manifest]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /chain: every link holds or is made by deploy/);
    assert.doesNotMatch(plan.stdout, /^ {2}(?:create|update|WARN|ERROR) /m, plan.stdout);
  });

  // The function, allowed exactly the servers deploy wrote.
  ff = await startFunctionServer({
    port: fnPort,
    env: { JUPYTER_TOKEN: j.token, ALLOWED_SERVERS: await readFile(allowed, 'utf8') },
  });
  const f = ff;
  const stored = sch.jobs.get(job);
  const payload = Buffer.from(stored.pubsubTarget.data).toString('utf8');
  const attributes = stored.pubsubTarget.attributes as Record<string, string>;
  const finals = (id: string): FinalLine[] =>
    f.lines().filter((l): l is FinalLine => isFinal(l) && l.record.messageId === id);

  await t.test(
    "the Scheduler job's payload, published into the topic, " +
      'reaches the function through the trigger and runs the notebook',
    async () => {
      assert.ok(payload.includes(j.hostPort), `the job's message names the service: ${payload}`);
      const [id] = await ps.publish(TOPIC, payload, attributes);
      const final = (await f.waitForLine((l) => isFinal(l) && l.record.messageId === id, 90_000)) as FinalLine;
      assert.equal(final.record.status, 'succeeded', JSON.stringify(final.record));
      assert.deepEqual(final.record.lastResult, { 'text/plain': '40' });
      assert.equal(final.ack, true);
    },
  );

  await t.test(
    'with the server stopped, the message fails on each delivery ' +
      `and lands on the dead-letter topic after ${ATTEMPTS} attempts`,
    async () => {
      await j.close();
      const [id] = await ps.publish(TOPIC, payload, attributes);
      const deadline = Date.now() + 150_000;
      let dead: Array<{ message: { data: string; attributes?: Record<string, string> } }> = [];
      while (dead.length === 0 && Date.now() < deadline) {
        const out = await gcloud(
          'pubsub',
          'subscriptions',
          'pull',
          `${TOPIC}-dead-letter-sub`,
          '--auto-ack',
          '--limit=10',
          '--format=json',
        );
        dead = JSON.parse(out) as typeof dead;
        if (dead.length === 0) await new Promise((r) => setTimeout(r, 1000));
      }
      assert.equal(dead.length, 1, 'one message on the dead-letter topic');
      assert.equal(Buffer.from(dead[0]!.message.data, 'base64').toString('utf8'), payload);
      assert.equal(dead[0]!.message.attributes?.CloudPubSubDeadLetterSourceDeliveryCount, String(ATTEMPTS));
      assert.equal(dead[0]!.message.attributes?.['nbtrigger-schedule'], 'morning');
      const attempts = finals(id!);
      assert.equal(attempts.length, ATTEMPTS, JSON.stringify(attempts.map((a) => a.record.error)));
      assert.ok(
        attempts.every((a) => a.ack === false && a.record.error?.code === 'SERVER_UNREACHABLE'),
        JSON.stringify(attempts.map((a) => a.record.error?.code)),
      );
    },
  );

  await t.test(
    "destroy leaves the function, its trigger and the setup's resources, and nothing of the deployment",
    async () => {
      const r = await cli(['destroy', '-f', manifest]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([...sch.jobs.keys()], []);
      assert.deepEqual([...run.services.keys()], [`${LOC}/services/runnotebook`]);
      assert.deepEqual(await names('topics'), [TOPIC, `${TOPIC}-dead-letter`]);
      assert.deepEqual(await names('subscriptions'), [TRIGGER, `${TOPIC}-dead-letter-sub`].sort());
    },
  );
});
