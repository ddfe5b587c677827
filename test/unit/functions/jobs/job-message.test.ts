/**
 * Job mode, the pure part: the job's name, ALLOWED_JOBS (default deny, prefix wildcard), the rest
 * of the message validated by the grammar, the RunJob request (NBTRIGGER_REQUEST with runKey and
 * exact numbers, the task timeout within 168 h), and what each RunJob failure means.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEADLINE_MARGIN_SEC } from '../../../../functions/config.js';
import { NbtError } from '../../../../functions/errors.js';
import {
  allowedJobs,
  buildRunJob,
  checkJobAllowed,
  checkJobName,
  jobField,
  launchError,
  MAX_TASK_TIMEOUT_SEC,
  parseJobMessage,
  TASK_MARGIN_SEC,
} from '../../../../functions/jobs/job-message.js';

const JOB = 'projects/my-proj/locations/europe-west1/jobs/nb-daily';

function code(fn: () => unknown): { code: string; field: unknown; message: string } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof NbtError, String(e));
    return { code: e.code, field: e.details.field, message: e.message };
  }
  assert.fail('expected an error');
}

describe('jobField', () => {
  it('finds job in a JSON message only', () => {
    assert.equal(jobField(`{"job": "${JOB}", "notebook": "a.ipynb"}`), JOB);
    assert.equal(jobField('{"notebook": "a.ipynb"}'), undefined);
    assert.equal(jobField('h:1 /job.ipynb'), undefined);
    assert.equal(jobField('{"job": '), undefined, "bad JSON is the grammar's to report");
    assert.equal(jobField('{"job": 5}'), 5);
  });
});

describe('checkJobName', () => {
  for (const ok of [
    JOB,
    'projects/123456789/locations/us-central1/jobs/a',
    `projects/p-1234/locations/asia-northeast1/jobs/${'a'.repeat(63)}`,
  ]) {
    it(`accepts ${ok.slice(0, 60)}`, () => assert.equal(checkJobName(ok), ok));
  }
  for (const bad of [
    'nb-daily',
    'projects/my-proj/locations/europe-west1/jobs/',
    'projects/my-proj/locations/europe-west1/jobs/Nb',
    'projects/my-proj/locations/europe-west1/jobs/1nb',
    'projects/my-proj/locations/europe-west1/services/nb',
    `projects/my-proj/locations/europe-west1/jobs/${'a'.repeat(64)}`,
    'projects/my-proj/locations/europe-west1/jobs/nb/executions/x',
    'projects/../locations/europe-west1/jobs/nb',
  ]) {
    it(`refuses ${bad.slice(0, 60)}, naming the field`, () => {
      const e = code(() => checkJobName(bad));
      assert.equal(e.code, 'BAD_MESSAGE');
      assert.equal(e.field, 'job');
      assert.match(e.message, /field "job" must be a job's full name/);
    });
  }
  it('refuses a non-string', () => assert.equal(code(() => checkJobName(5)).field, 'job'));
});

describe('ALLOWED_JOBS', () => {
  it('unset or empty: nothing is allowed (CONFIG, permanent)', () => {
    for (const v of [undefined, '', ' , ']) {
      const e = code(() => checkJobAllowed(JOB, allowedJobs(v)));
      assert.equal(e.code, 'CONFIG');
      assert.match(e.message, /ALLOWED_JOBS is not set/);
    }
  });
  it('an exact name, or a prefix ending in *', () => {
    checkJobAllowed(JOB, allowedJobs(`projects/x-yyyy/locations/l1/jobs/a, ${JOB}`));
    checkJobAllowed(JOB, allowedJobs('projects/my-proj/locations/europe-west1/jobs/nb-*'));
    assert.equal(
      code(() => checkJobAllowed(JOB, allowedJobs('projects/my-proj/locations/europe-west1/jobs/nb'))).code,
      'CONFIG',
    );
    assert.equal(
      code(() => checkJobAllowed(JOB, allowedJobs('projects/my-proj/locations/us-east1/jobs/*'))).code,
      'CONFIG',
    );
  });
});

describe('parseJobMessage', () => {
  it('splits off job; no server: the job starts its own; the grammar checks the rest', () => {
    const m = parseJobMessage(`{"job": "${JOB}", "notebook": "/nb/daily.ipynb", "parameters": {"x": 1.0}}`);
    assert.equal(m.job, JOB);
    assert.equal(m.localServer, true);
    assert.equal(m.request.notebook, 'nb/daily.ipynb');
    assert.equal(Object.hasOwn(m.body, 'job'), false);
  });
  it('a named server is kept (the guard checks it)', () => {
    const m = parseJobMessage(
      `{"job": "${JOB}", "server": "jup.example.com:443", "useHttps": true, "notebook": "a.ipynb"}`,
    );
    assert.equal(m.localServer, false);
    assert.equal(m.request.server.host, 'jup.example.com');
  });
  it("the function's JUPYTER_SERVER / JUPYTER_NOTEBOOK fill nothing: a job message names its notebook", () => {
    const e = code(() => parseJobMessage(`{"job": "${JOB}"}`, { JUPYTER_NOTEBOOK: 'x.ipynb', JUPYTER_SERVER: 'h:1' }));
    assert.equal(e.field, 'notebook');
  });
  it('a bad field of the rest is named by the grammar', () => {
    assert.equal(
      code(() => parseJobMessage(`{"job": "${JOB}", "notebook": "a.ipynb", "timeouts": {"runSeconds": 700000}}`)).field,
      'timeouts.runSeconds',
    );
    assert.equal(code(() => parseJobMessage(`{"job": "${JOB}", "notebook": "a.ipynb", "token": "t"}`)).field, 'token');
  });
});

describe('buildRunJob', () => {
  it('NBTRIGGER_REQUEST is the message without job, with runKey, numbers exact; the schedule passed on', () => {
    const m = parseJobMessage(
      `{"job": "${JOB}", "notebook": "a.ipynb", "parameters": {"f": 1.0, "big": 12345678901234567890}}`,
    );
    const call = buildRunJob(m, 'msg:42', { schedule: 'daily', concurrency: 'skip' });
    assert.equal(call.name, JOB);
    assert.deepEqual(call.overrides.containerOverrides[0]!.env, [
      {
        name: 'NBTRIGGER_REQUEST',
        value: '{"notebook":"a.ipynb","parameters":{"f":1.0,"big":12345678901234567890},"runKey":"msg:42"}',
      },
      { name: 'NBTRIGGER_SCHEDULE', value: 'daily' },
      { name: 'NBTRIGGER_CONCURRENCY', value: 'skip' },
    ]);
    assert.equal(call.overrides.timeout, undefined, "no timeouts.run: the job's own task timeout");
  });
  it('timeouts.runSeconds: the task timeout is the deadline plus the margin, at most 168 h', () => {
    const t = (s: number): unknown =>
      buildRunJob(parseJobMessage(`{"job": "${JOB}", "notebook": "a.ipynb", "timeouts": {"runSeconds": ${s}}}`), 'k')
        .overrides.timeout;
    assert.equal(TASK_MARGIN_SEC, DEADLINE_MARGIN_SEC, "the function's margin");
    assert.deepEqual(t(3600), { seconds: 3630 });
    assert.deepEqual(t(90.5), { seconds: 121 });
    assert.deepEqual(t(MAX_TASK_TIMEOUT_SEC), { seconds: MAX_TASK_TIMEOUT_SEC });
  });
  it("the deployment's settings travel with it, never a secret", () => {
    const m = parseJobMessage(`{"job": "${JOB}", "notebook": "gs://bkt/nb.ipynb"}`);
    const deployment = {
      NBTRIGGER_STORE: 'firestore',
      NBTRIGGER_OUTPUT: 'gs://b/runs/',
      ALLOWED_SOURCES: 'gs://b/notebooks/',
      JUPYTER_TOKEN: 'secret-token-value',
      GOOGLE_APPLICATION_CREDENTIALS: '/k.json',
      PATH: '/bin',
    };
    const env = buildRunJob(m, 'k', undefined, deployment).overrides.containerOverrides[0]!.env;
    assert.deepEqual(env.slice(1), [
      { name: 'NBTRIGGER_STORE', value: 'firestore' },
      { name: 'NBTRIGGER_OUTPUT', value: 'gs://b/runs/' },
      { name: 'ALLOWED_SOURCES', value: 'gs://b/notebooks/' },
    ]);
    assert.ok(!JSON.stringify(env).includes('secret-token-value'));
  });
  it('refuses a request too large to travel as an env var', () => {
    const m = parseJobMessage(`{"job": "${JOB}", "notebook": "a.ipynb", "parameters": {"x": "${'a'.repeat(40_000)}"}}`);
    assert.equal(code(() => buildRunJob(m, 'k')).code, 'BAD_MESSAGE');
  });
});

describe('launchError', () => {
  const cases: Array<[number | undefined, string, boolean, RegExp]> = [
    [8, 'JOB_UNAVAILABLE', true, /could not be started now/],
    [14, 'JOB_UNAVAILABLE', true, /could not be started now/],
    [7, 'JOB_REFUSED', false, /permission denied.*roles\/run\.jobsExecutorWithOverrides/],
    [5, 'JOB_REFUSED', false, /does not exist/],
    [3, 'JOB_REFUSED', false, /refused the run's overrides/],
    [undefined, 'JOB_UNAVAILABLE', true, /could not be started/],
  ];
  for (const [grpc, want, retryable, msg] of cases) {
    it(`gRPC ${grpc}: ${want}, naming the job`, () => {
      const e = launchError(JOB, grpc, 'details');
      assert.equal(e.code, want);
      assert.equal(e.retryable, retryable);
      assert.match(e.message, msg);
      assert.ok(e.message.includes(JOB));
    });
  }
});
