/**
 * The Scheduler message round trip: what deploy writes into a job's Pub/Sub target is exactly
 * what the function parses. Spec: docs/deploy.md (a round-trip test proves they agree); grammar: docs/function.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeData } from '../../../functions/request/encode.js';
import { decodeData, parseMessage } from '../../../functions/request/grammar.js';
import { desiredState, scheduleRequest } from '../../../deploy/desired.js';
import { toActualJob, toJob } from '../../../deploy/clients/scheduler.js';
import { manifest, urlsFor } from './fixtures.js';

const m = manifest();
const desired = desiredState(m, urlsFor(m));

test("every job: parseMessage(decodeData(pubsubTarget.data)) equals the schedule's request", () => {
  assert.equal(desired.jobs.length, 2);
  for (const spec of desired.jobs) {
    const job = toJob(spec);
    const data = Buffer.from(job.pubsubTarget!.data as Uint8Array).toString('base64');
    assert.deepEqual(parseMessage(decodeData(data)), spec.request);
    // Read back from the API, the same bytes compare equal (idempotency relies on it).
    assert.equal(toActualJob(job).data, spec.data);
  }
});

test("the request names the Cloud Run URL over https and carries the schedule's options", () => {
  const nightly = desired.jobs.find((j) => j.name.endsWith('/reports_nightly'))!;
  assert.deepEqual(nightly.request, {
    server: { host: 'reports-sales-abc.a.run.app', port: 443, secure: true },
    notebook: 'notebooks/sales.ipynb',
    verbose: false,
    timeouts: {},
    parameters: { region: 'EU', limit: 10 },
    output: 'gs://bucket/runs/',
  });
  assert.deepEqual(JSON.parse(decodeData(nightly.data!)), {
    server: 'reports-sales-abc.a.run.app:443',
    notebook: '/notebooks/sales.ipynb',
    useHttps: true,
    parameters: { region: 'EU', limit: 10 },
    output: 'gs://bucket/runs/',
  });
  assert.deepEqual(nightly.attributes, {
    'managed-by': 'nbtrigger',
    'nbtrigger-deployment': 'reports',
    'nbtrigger-schedule': 'nightly',
    'nbtrigger-concurrency': 'skip',
  });
  assert.match(nightly.description, /^\[managed by nbtrigger, deployment reports\] /);
});

test('a schedule with nothing but the notebook is sent in the classic form gcloud would publish', () => {
  const hourly = desired.jobs.find((j) => j.name.endsWith('/reports_hourly'))!;
  assert.equal(decodeData(hourly.data!), 'reports-sales-abc.a.run.app:443 /notebooks/sales.ipynb --use-https');
});

test('kernel, timeouts and odd parameter values survive the round trip', () => {
  const nb = m.notebooks[0]!;
  const sc = {
    name: 'x',
    cron: '* * * * *',
    timeZone: 'UTC',
    concurrency: 'queue' as const,
    kernelName: 'python3',
    timeouts: { startSeconds: 300, runSeconds: 1800 },
    parameters: { s: 'a b\n"c" é', n: -1.5, b: false, z: null, l: [1, { k: 'v' }] },
  };
  const req = scheduleRequest(nb, sc, 'https://svc-xyz.a.run.app');
  const job = toJob({ ...desired.jobs[0]!, request: req, data: encodeData(req) });
  const data = Buffer.from(job.pubsubTarget!.data as Uint8Array).toString('base64');
  assert.deepEqual(parseMessage(decodeData(data)), req);
  assert.equal(req.kernelName, 'python3');
  assert.deepEqual(req.timeouts, { startSeconds: 300, runSeconds: 1800 });
});
