/**
 * IAM propagation during a deploy, with the REAL clients against the Run gRPC fake (whose grants
 * take effect only a while after SetIamPolicy, as IAM's do) and the Pub/Sub emulator: a call
 * refused right after this deploy granted a role is tried again until the grant takes effect; it
 * gives up at the window's end naming the role, member and resource; a refusal with no grant
 * before it fails at once. Skips without the emulator, except under CI=true.
 * Spec: docs/deploy.md (IAM propagation); https://cloud.google.com/iam/docs/access-change-propagation.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServicesClient } from '@google-cloud/run';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { PubSub } from '@google-cloud/pubsub';
import { isNbtError } from '../../../functions/errors.js';
import { deploy } from '../../../deploy/apply.js';
import type { DeployClients } from '../../../deploy/clients/index.js';
import { IAM_PROPAGATION_URL } from '../../../deploy/iam-propagation.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { startDeployBackends } from '../../helpers/deploy-backends.js';
import type { FakeRunIam } from '../../helpers/grpc-run.js';
import { emulatorUnavailableReason, skipUnlessEmulator } from '../../helpers/pubsub-emulator.js';

const PROJECT = 'nbtrigger-iam';
const LOC = `projects/${PROJECT}/locations/europe-west1`;

/** A deployment `name` of two services, run by the function account `fn`. */
const yaml = (name: string, fn: string): string => `
name: ${name}
project: ${PROJECT}
region: europe-west1
function: {serviceAccount: ${fn}@${PROJECT}.iam.gserviceaccount.com}
topic: t_iam
notebooks:
  - name: first
    file: first.ipynb
    service: {image: "gcr.io/p/first:1"}
  - name: second
    file: second.ipynb
    service: {image: "gcr.io/p/second:1"}
`;
const member = (fn: string): string => `serviceAccount:${fn}@${PROJECT}.iam.gserviceaccount.com`;
/** The fake refuses `method` on the second service of deployment `d` until `fn` holds run.invoker. */
const needsInvoker = (fn: string, d: string, propagationMs: number): Partial<FakeRunIam> => ({
  caller: member(fn),
  propagationMs,
  needs: [{ method: 'GetIamPolicy', role: 'roles/run.invoker', resource: `${LOC}/services/${d}-second` }],
});

test("a refusal right after the deploy's own grant waits for it, within a bound; any other fails at once", {
  timeout: 180_000,
}, async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;
  // Mutated per case: the caller the fake sees and what it must hold.
  const iam: FakeRunIam = { caller: '', propagationMs: 0, needs: [] };
  const { run, sch, ps, seedTrigger, stop } = await startDeployBackends(PROJECT, { iam });
  const c: DeployClients = {
    run: new ServicesClient(run.clientOptions()),
    scheduler: new CloudSchedulerClient(sch.clientOptions()),
    pubsub: new PubSub({ projectId: PROJECT, apiEndpoint: ps.host }),
  };
  t.after(async () => {
    await Promise.allSettled([c.run.close(), c.scheduler.close(), c.pubsub.close()]);
    await stop();
  });
  await seedTrigger({ region: 'europe-west1', topic: 't_iam' });
  const reads = (service: string): number =>
    run.calls.filter((x) => x.method === 'GetIamPolicy' && x.request.resource === service).length;

  await t.test('retried until the grant takes effect, then the deploy completes', async () => {
    // Deploy grants run.invoker on a-first, then reads a-second's policy: a call that needs the role it just granted.
    Object.assign(iam, needsInvoker('fn-a', 'a', 1500));
    const lines: string[] = [];
    const done = await deploy(c, parseManifest(yaml('a', 'fn-a'), 'm.yaml'), (l) => lines.push(l), {
      iamPropagation: { windowMs: 30_000, firstDelayMs: 200, maxDelayMs: 400 },
    });
    assert.ok(done.actions.some((a) => a.resource === 'iam' && a.name === `${LOC}/services/a-second`));
    assert.ok(reads(`${LOC}/services/a-second`) > 1, 'the refused read was tried again');
    assert.ok(
      lines.some((l) => /permission denied right after this deploy's IAM grant; trying again/.test(l)),
      lines.join('\n'),
    );
    const second = run.policies.get(`${LOC}/services/a-second`);
    assert.ok(
      second.bindings.some(
        (b: { role: string; members: string[] }) =>
          b.role === 'roles/run.invoker' && b.members.includes(member('fn-a')),
      ),
      'the grant was made',
    );
  });

  await t.test('gives up at the end of the window, naming the role, the member and the resource', async () => {
    Object.assign(iam, needsInvoker('fn-b', 'b', 600_000));
    const lines: string[] = [];
    const done = await deploy(c, parseManifest(yaml('b', 'fn-b'), 'm.yaml'), (l) => lines.push(l), {
      iamPropagation: { windowMs: 1500, firstDelayMs: 200, maxDelayMs: 400 },
    });
    // A failed change is reported with the resource it names; the rest of the deploy is applied.
    assert.deepEqual(
      done.failures.map((f) => [f.resource, f.name]),
      [['iam', `${LOC}/services/b-second`]],
    );
    ((e: unknown) => {
      assert.ok(isNbtError(e) && e.code === 'REQUEST_REJECTED' && !e.retryable, String(e));
      assert.match(e.message, /update iam projects\/nbtrigger-iam\/locations\/europe-west1\/services\/b-second/);
      assert.ok(e.message.includes(`roles/run.invoker to ${member('fn-b')} on ${LOC}/services/b-first`), e.message);
      assert.ok(e.message.includes(IAM_PROPAGATION_URL), e.message);
      assert.match(e.message, /PERMISSION_DENIED|Permission denied/);
    })(done.failures[0]!.error);
    assert.ok(reads(`${LOC}/services/b-second`) >= 2, 'it was tried again before giving up');
    assert.ok(lines.some((l) => /trying again/.test(l)));
  });

  await t.test('a refusal with no grant before it in the same deploy fails at once', async () => {
    Object.assign(iam, {
      caller: member('fn-c'),
      propagationMs: 0,
      needs: [{ method: 'CreateService', role: 'roles/run.admin' }],
    });
    const creates = run.calls.filter((x) => x.method === 'CreateService').length;
    const lines: string[] = [];
    const done = await deploy(c, parseManifest(yaml('c', 'fn-c'), 'm.yaml'), (l) => lines.push(l), {
      iamPropagation: { windowMs: 60_000, firstDelayMs: 200 },
    });
    const first = done.failures.find((f) => f.resource === 'service' && f.name.endsWith('c-first'));
    assert.ok(first, JSON.stringify(done.failures.map((f) => f.name)));
    const e = first.error;
    assert.ok(isNbtError(e) && e.code === 'REQUEST_REJECTED', String(e));
    assert.match(e.message, /create Cloud Run service .*c-first failed: Permission denied.*roles\/run\.admin/);
    assert.ok(!e.message.includes('after this deploy granted'), e.message);
    // Each of the two services was asked once: neither was tried again.
    assert.equal(run.calls.filter((x) => x.method === 'CreateService').length - creates, 2, 'not tried again');
    assert.ok(!lines.some((l) => /trying again/.test(l)));
  });
});
