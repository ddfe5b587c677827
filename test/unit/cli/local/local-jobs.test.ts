/**
 * The local stack's pure parts: each schedule's local message is the deploy module's Scheduler
 * message with only the server (and a gs:// output) changed; the Pub/Sub wire codec; the cron
 * with an injected clock (across a daylight-saving change).
 * Spec: docs/deploy.md (The same manifest, locally).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredState } from '../../../../deploy/desired.js';
import { decodeData, parseMessage } from '../../../../functions/request/grammar.js';
import { offsetClock, startCron } from '../../../../cli/local/local-clock.js';
import { findJob, localJobs, localOutput } from '../../../../cli/local/local-jobs.js';
import {
  decodePublishRequest,
  encodePublishRequest,
  encodePublishResponse,
  readFields,
  type PublishRequest,
} from '../../../../cli/local/pubsub-wire.js';
import { manifest } from '../../deploy/fixtures.js';
import { parseManifest } from '../../../../deploy/manifest.js';

const URLS = new Map([
  ['reports-sales', 'http://127.0.0.1:40001'],
  ['reports-ops', 'http://127.0.0.1:40002'],
]);

test('local messages are the Scheduler messages with the local server; gs:// outputs go to the runs folder', () => {
  const m = manifest();
  const jobs = localJobs(m, URLS);
  const cloud = desiredState(
    m,
    new Map([
      ['reports-sales', 'https://reports-sales-x.a.run.app'],
      ['reports-ops', 'https://reports-ops-x.a.run.app'],
    ]),
  ).jobs;
  assert.equal(jobs.length, cloud.length);
  for (const [i, job] of jobs.entries()) {
    const c = cloud[i]!;
    const local = parseMessage(job.text);
    const remote = parseMessage(decodeData(c.data!));
    const url = URLS.get(c.service)!;
    assert.deepEqual(local.server, { host: '127.0.0.1', port: Number(new URL(url).port), secure: false });
    const rest = (r: typeof local): Partial<typeof local> => {
      const { server: _s, output: _o, ...x } = r;
      return x;
    };
    assert.deepEqual(rest(local), rest(remote), `${job.schedule}: only server and output differ`);
    assert.equal(local.output, remote.output?.startsWith('gs://') ? localOutput() : remote.output);
    assert.deepEqual(job.attributes, c.attributes);
    assert.equal(job.cron, c.schedule);
    assert.equal(job.timeZone, c.timeZone);
    assert.equal(`projects/my-project/locations/europe-west1/jobs/${job.jobId}`, c.name);
  }
  const nightly = findJob(jobs, 'nightly');
  assert.deepEqual(parseMessage(nightly.text).parameters, { region: 'EU', limit: 10 });
  assert.equal(parseMessage(nightly.text).output, '{notebook}/{date}-{runId}.ipynb');
  assert.equal(findJob(jobs, 'reports_nightly'), nightly);
  assert.throws(() => findJob(jobs, 'weekly'), /no schedule "weekly".*known: nightly, hourly/);
  assert.throws(() => localJobs(m, new Map()), /no local server for service reports-sales/);
});

test('Pub/Sub wire: PublishRequest round trip, attributes map, unknown fields skipped; PublishResponse', () => {
  const req: PublishRequest = {
    topic: 'projects/p/topics/t',
    messages: [
      { data: Buffer.from('127.0.0.1:8888 /a b.ipynb', 'utf8'), attributes: { k: 'v', 'nbtrigger-schedule': 'é' } },
      { data: Buffer.alloc(300, 7), attributes: {} },
    ],
  };
  const bytes = encodePublishRequest(req);
  assert.deepEqual(decodePublishRequest(bytes), req);
  // An unknown varint field (99) and a fixed64 field (98) are skipped.
  const extra = Buffer.concat([
    bytes,
    Buffer.from([0x98, 0x06, 0x2a]),
    Buffer.from([0x91, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]),
  ]);
  assert.deepEqual(decodePublishRequest(extra), req);
  assert.throws(() => decodePublishRequest(bytes.subarray(0, bytes.length - 3)), /truncated/);
  const res = readFields(encodePublishResponse(['1', '22']));
  assert.deepEqual(
    res.map((f) => [f.no, (f.value as Buffer).toString()]),
    [
      [1, '1'],
      [1, '22'],
    ],
  );
});

test(
  'cron with an injected clock: fires at 03:00 Europe/Paris on the DST morning, ' + 'then arms the next day',
  async () => {
    // 2024-03-31: Paris jumps from 02:00 CET to 03:00 CEST at 01:00Z; 03:00 CEST is 01:00Z.
    const now = offsetClock(new Date('2024-03-31T00:59:59.700Z'));
    const job = { cron: '0 3 * * *', timeZone: 'Europe/Paris' };
    const fired: Array<[Date, number]> = [];
    const cron = startCron([job], (_j, at) => fired.push([at, now()]), now);
    try {
      assert.equal(cron.next().get(job)?.toISOString(), '2024-03-31T01:00:00.000Z');
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(fired.length, 1);
      assert.equal(fired[0]![0].toISOString(), '2024-03-31T01:00:00.000Z');
      assert.ok(fired[0]![1] >= Date.parse('2024-03-31T01:00:00Z'), 'not fired early');
      assert.equal(cron.next().get(job)?.toISOString(), '2024-04-01T01:00:00.000Z');
    } finally {
      cron.stop();
    }
  },
);

test('cron: nothing fires before its time, and nothing after stop()', async () => {
  const now = offsetClock(new Date('2024-01-01T06:59:59.600Z'));
  const fired: string[] = [];
  const cron = startCron(
    [
      { cron: '0 7 * * *', timeZone: 'UTC' },
      { cron: '1 7 * * *', timeZone: 'UTC' },
    ],
    (j) => fired.push(j.cron),
    now,
  );
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(fired, []);
  cron.stop();
  await new Promise((r) => setTimeout(r, 400));
  assert.deepEqual(fired, [], 'stopped before 07:00');
});

test('a job-mode notebook fires locally with its job message, which the local function runs as `nbtrigger job`', () => {
  const m = parseManifest(
    `
name: rep
project: my-project
region: europe-west1
notebooks:
  - name: long
    file: long.ipynb
    execution: job
    service: {image: "gcr.io/p/nb:1"}
    schedules: [{name: weekly, cron: "0 1 * * 0", timeouts: {run: 30h}, output: "gs://bkt/out/"}]
`,
    'm.yaml',
  );
  const [job] = localJobs(m, new Map([['rep-long', 'http://127.0.0.1:40003']]));
  const o = JSON.parse(job!.text) as { job: string; notebook: string; timeouts: { run: string }; output: string };
  assert.equal(o.job, 'projects/my-project/locations/europe-west1/jobs/rep-long');
  assert.equal(o.notebook, '/long.ipynb');
  assert.equal(o.output, localOutput(), 'a gs:// output lands in the local runs folder');
});
