/**
 * Job mode through the served function and the real @google-cloud/run JobsClient, against the
 * local Cloud Run Jobs fake (test/helpers/grpc-run-jobs.ts): RunJob with the request in
 * NBTRIGGER_REQUEST and the task timeout as overrides, the execution's name recorded from the
 * operation's metadata, the message acked without waiting for the execution; a redelivery is a
 * duplicate (one execution); RESOURCE_EXHAUSTED retries; NOT_FOUND, PERMISSION_DENIED and a job
 * outside ALLOWED_JOBS are acked, naming the job.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openRunStore } from '../../../../functions/store/open-stores.js';
import {
  binaryEvent,
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
} from '../../../helpers/functions-framework.js';
import { startFakeRunJobs, type FakeRunJobs } from '../../../helpers/grpc-run-jobs.js';

const JOB = 'projects/p1-test/locations/europe-west1/jobs/nb-long';
const CALLER = 'serviceAccount:fn@p1-test.iam.gserviceaccount.com';

async function deliver(
  ff: FunctionServer,
  body: object,
  messageId: string,
): Promise<{ status: number; final: FinalLine }> {
  const req = binaryEvent({ text: JSON.stringify(body), messageId, attributes: {} });
  const res = await ff.post(req);
  const final = (await ff.waitForLine((l) => l.eventId === req.id && isFinal(l), 30_000)) as FinalLine;
  return { status: res.status, final };
}

describe('job mode: dispatch to Cloud Run Jobs (fake)', { timeout: 120_000 }, () => {
  let fake: FakeRunJobs;
  let ff: FunctionServer;
  before(async () => {
    fake = await startFakeRunJobs({ exhaustOnce: { method: 'RunJob', retryDelayMs: 10 } });
    fake.put(JOB, {});
    fake.put('projects/p1-test/locations/europe-west1/jobs/other', {});
    ff = await startFunctionServer({
      env: {
        NBTRIGGER_RUN_ENDPOINT: `127.0.0.1:${fake.port}`,
        JUPYTER_TOKEN: 'fn-token-0123456789',
        ALLOWED_JOBS: `${JOB},projects/p1-test/locations/europe-west1/jobs/gone*`,
      },
    });
  });
  after(async () => {
    await ff?.stop();
    await fake?.stop();
  });

  const exhaustedThenRunTitle =
    'exhausted once: retried; then RunJob with overrides, the execution recorded, acked; then a duplicate';
  test(exhaustedThenRunTitle, async () => {
    const body = {
      job: JOB,
      notebook: 'reports/daily.ipynb',
      timeouts: { runSeconds: 7200 },
      parameters: { day: '2026-12-01' },
    };
    const first = await deliver(ff, body, 'm-1');
    assert.equal(first.status, 500, 'RESOURCE_EXHAUSTED: retried');
    assert.equal(first.final.record.error?.code, 'JOB_UNAVAILABLE');
    assert.match(first.final.record.error!.message, /nb-long/);

    const r = await deliver(ff, body, 'm-1');
    assert.equal(r.status, 204, JSON.stringify(r.final));
    const rec = r.final.record as Record<string, unknown>;
    assert.equal(rec.status, 'dispatched');
    assert.equal(rec.job, JOB);
    assert.equal(rec.server, null, 'the job starts its own server');
    assert.equal(rec.runKey, 'run:msg:m-1');
    const execution = String(rec.execution);
    assert.match(execution, new RegExp(`^${JOB}/executions/nb-long-[a-z0-9]{5}$`));
    // The RunJob operation completes only when polled (GetOperation): the function never waited on it.
    assert.equal(
      fake.calls.filter((c) => c.method === 'GetOperation').length,
      0,
      'acked without waiting for the execution',
    );
    const runJobs = fake.calls.filter((c) => c.method === 'RunJob');
    assert.equal(runJobs.length, 2);
    const exec = fake.executions.get(execution);
    assert.ok(exec, 'the fake holds the execution');
    const env = exec.template.containers[0].env as Array<{ name: string; value: string }>;
    const request = JSON.parse(env.find((e) => e.name === 'NBTRIGGER_REQUEST')!.value) as Record<string, unknown>;
    assert.deepEqual(request, {
      notebook: 'reports/daily.ipynb',
      timeouts: { runSeconds: 7200 },
      parameters: { day: '2026-12-01' },
      runKey: 'msg:m-1',
    });
    assert.equal(Number(exec.template.timeout.seconds), 7230, 'the run deadline plus the margin to record');
    // The dispatched record is stored with the execution.
    const store = await openRunStore({ kind: 'local', root: ff.runsDir });
    const stored = (await store.list({ limit: 50 })).filter((x) => x.status === 'dispatched');
    assert.deepEqual(
      stored.map((x) => x.execution),
      [execution],
    );

    const dup = await deliver(ff, body, 'm-1');
    assert.equal(dup.status, 204);
    assert.equal(dup.final.record.status, 'skipped');
    assert.equal(fake.calls.filter((c) => c.method === 'RunJob').length, 2, 'one execution for one message');
  });

  const refusedTitle =
    'refused: not in ALLOWED_JOBS, a bad name, no such job: acked, nothing started, the field or job named';
  test(refusedTitle, async () => {
    const n = fake.calls.filter((c) => c.method === 'RunJob').length;
    const notAllowed = await deliver(
      ff,
      { job: 'projects/p1-test/locations/europe-west1/jobs/other', notebook: 'a.ipynb' },
      'm-2',
    );
    assert.equal(notAllowed.status, 204);
    assert.equal(notAllowed.final.record.error?.code, 'CONFIG');
    assert.match(notAllowed.final.record.error!.message, /jobs\/other is not in ALLOWED_JOBS/);
    const badName = await deliver(ff, { job: 'nb-long', notebook: 'a.ipynb' }, 'm-3');
    assert.equal(badName.final.record.error?.code, 'BAD_MESSAGE');
    assert.match(badName.final.record.error!.message, /field "job" must be a job's full name/);
    // A named server passes the same guard as any run (ALLOWED_SERVERS: 127.0.0.1:* here).
    const server = await deliver(ff, { job: JOB, server: 'jupyter.example.com:443', notebook: 'a.ipynb' }, 'm-3b');
    assert.equal(server.status, 204);
    assert.equal(server.final.record.error?.code, 'SERVER_NOT_ALLOWED');
    assert.equal(fake.calls.filter((c) => c.method === 'RunJob').length, n, 'nothing reached RunJob');
    const gone = await deliver(
      ff,
      { job: 'projects/p1-test/locations/europe-west1/jobs/gone-1', notebook: 'a.ipynb' },
      'm-4',
    );
    assert.equal(gone.status, 204, 'NOT_FOUND is permanent');
    assert.equal(gone.final.record.error?.code, 'JOB_REFUSED');
    assert.match(gone.final.record.error!.message, /jobs\/gone-1 does not exist/);
  });
});

describe('job mode: the overrides role (fake with IAM)', { timeout: 60_000 }, () => {
  const withoutOverridesRoleTitle =
    'without roles/run.jobsExecutorWithOverrides: PERMISSION_DENIED, acked, naming the job and the role';
  test(withoutOverridesRoleTitle, async () => {
    const fake = await startFakeRunJobs({ iam: { caller: CALLER, propagationMs: 0, needs: [] } });
    fake.put(JOB, {});
    const ff = await startFunctionServer({
      env: { NBTRIGGER_RUN_ENDPOINT: `127.0.0.1:${fake.port}`, ALLOWED_JOBS: JOB },
    });
    try {
      const r = await deliver(ff, { job: JOB, notebook: 'a.ipynb' }, 'm-5');
      assert.equal(r.status, 204, JSON.stringify(r.final));
      assert.equal(r.final.record.error?.code, 'JOB_REFUSED');
      assert.match(r.final.record.error!.message, /nb-long: permission denied.*jobsExecutorWithOverrides/);
    } finally {
      await ff.stop();
      await fake.stop();
    }
  });
});
