/**
 * `execution:` and `job:` in the manifest (deploy/manifest-job.ts) and the Cloud Run Jobs rules
 * (deploy/rules-jobs.ts): defaults, the task timeout following the longest run, the 168 h ceiling
 * in job mode and the function's in service mode, retries, CPU/memory, the job name prefix, each
 * refusal naming the field, the rule and its link. Spec: docs/deploy.md (Job mode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNbtError } from '../../../functions/errors.js';
import { parseManifest, type Manifest } from '../../../deploy/manifest.js';
import { jobViolations, MAX_JOB_TASK_SECONDS } from '../../../deploy/rules-jobs.js';
import { RULES, violationText } from '../../../deploy/rules.js';
import { desiredState } from '../../../deploy/desired.js';
import { manifestCounts, quotaFindings, RUN_JOBS_PER_REGION } from '../../../deploy/quotas.js';

const yaml = (nb: string): string => `
name: rep
project: my-project
region: europe-west1
notebooks:
  - name: long
    file: long.ipynb
    service: {image: "gcr.io/p/nb:1"}
${nb}`;

/** The problems parseManifest reports, as `path: message` lines. */
function problems(text: string): string {
  try {
    parseManifest(text, 'm.yaml');
  } catch (e) {
    assert.ok(isNbtError(e), String(e));
    const ps = (e.details as { problems: Array<{ path: string; message: string }> }).problems;
    return ps.map((p) => `${p.path}: ${p.message}`).join('\n');
  }
  return '';
}
const parse = (text: string): Manifest => parseManifest(text, 'm.yaml');

test('execution defaults to service; job mode fills the job defaults', () => {
  assert.equal(parse(yaml('')).notebooks[0]!.execution, 'service');
  assert.equal(parse(yaml('')).notebooks[0]!.job, undefined);
  const nb = parse(yaml('    execution: job\n')).notebooks[0]!;
  assert.equal(nb.execution, 'job');
  assert.deepEqual(nb.job, { cpu: '1', memory: '2Gi', timeoutSeconds: 3600, maxRetries: 0 });
});

test('the task timeout follows the longest run (plus the margin), up to 168 h', () => {
  const runs = (a: string, b: string): string => `    execution: job
    schedules:
      - {name: a, cron: "0 1 * * *", timeouts: {run: "${a}"}}
      - {name: b, cron: "0 2 * * *", timeouts: {run: "${b}"}}
`;
  assert.equal(parse(yaml(runs('2h', '30h'))).notebooks[0]!.job!.timeoutSeconds, 30 * 3600 + 600);
  assert.equal(parse(yaml(runs('1m', '10m'))).notebooks[0]!.job!.timeoutSeconds, 3600);
  assert.equal(parse(yaml(runs('1h', '168h'))).notebooks[0]!.job!.timeoutSeconds, MAX_JOB_TASK_SECONDS);
});

test("timeouts.run: 168 h in job mode, the function's 510 s in service mode, each naming its rule", () => {
  const sched = (run: string): string => `    schedules: [{name: a, cron: "0 1 * * *", timeouts: {run: "${run}"}}]\n`;
  assert.equal(problems(yaml(`    execution: job\n${sched('168h')}`)), '');
  const over = problems(yaml(`    execution: job\n${sched('169h')}`));
  assert.match(over, /notebooks\[0\]\.schedules\[0\]\.timeouts\.run: /);
  assert.ok(over.includes(RULES.jobTaskTimeout.url) || over.includes('7 days'), over);
  const service = problems(yaml(sched('2h')));
  assert.match(service, /timeouts\.run: run 7200 s: .*510 s/);
  assert.ok(service.includes(RULES.functionCeiling.url), service);
  // A run just inside the job mode ceiling but beyond 7 days' duration parse is still refused.
  assert.match(problems(yaml(`    execution: job\n${sched('10081m')}`)), /timeouts\.run/);
});

test('job settings are checked against the Jobs rules before any call', () => {
  const job = (settings: string): string => problems(yaml(`    execution: job\n    job: {${settings}}\n`));
  assert.equal(job('cpu: 2, memory: 8Gi, maxRetries: 10, timeout: 168h'), '');
  assert.match(
    job('maxRetries: 11'),
    new RegExp(
      'job\\.maxRetries: maxRetries 11: max retries per task is an integer from 0 to 10 ' +
        '\\(https://cloud\\.google\\.com/run/docs/configuring/max-retries\\)',
    ),
  );
  assert.match(job('maxRetries: "3"'), /job\.maxRetries: expected an integer/);
  assert.match(job('timeout: 169h'), /job\.timeout: task timeout 608400 s: .*168 hours.*task-timeout/);
  assert.match(job('cpu: 3'), /job\.cpu: .*jobs\/cpu/);
  assert.match(job('cpu: 1, memory: 8Gi'), /job\.memory: .*memory per CPU/);
  assert.match(
    problems(
      yaml(`    execution: job
    job: {timeout: 1h}
    schedules: [{name: a, cron: "0 1 * * *", timeouts: {run: 2h}}]
`),
    ),
    /job\.timeout: task timeout 3600 s is shorter than a schedule's timeouts\.run \(7200 s\)/,
  );
  assert.match(job('retries: 1'), /unknown field "retries"/);
});

test('job: without execution: job is refused; a bad execution is named', () => {
  assert.match(
    problems(yaml('    job: {cpu: 2}\n')),
    /notebooks\[0\]\.job: job settings apply only to a notebook with "execution: job"/,
  );
  assert.match(problems(yaml('    execution: batch\n')), /notebooks\[0\]\.execution: expected one of service, job/);
});

test("a job-mode notebook's job name begins with the deployment's prefix (ALLOWED_JOBS)", () => {
  const text = yaml('    execution: job\n').replace(
    'service: {image: "gcr.io/p/nb:1"}',
    'service: {name: other-long, image: "gcr.io/p/nb:1"}',
  );
  assert.match(problems(text), /service\.name: .*must begin with "rep-".*projects\/P\/locations\/R|rep-\*/);
});

test('desired state: a job-mode notebook is a Cloud Run job, not a service; its schedule names the job', () => {
  const m = parse(
    yaml(`    execution: job
    schedules: [{name: weekly, cron: "0 1 * * 0", timeouts: {run: 30h}, output: "gs://b/o/"}]
`),
  );
  const d = desiredState(m);
  assert.deepEqual(d.services, []);
  assert.deepEqual(
    d.runJobs.map((j) => [j.name, j.timeoutSeconds]),
    [['projects/my-project/locations/europe-west1/jobs/rep-long', 30 * 3600 + 600]],
  );
  const data = JSON.parse(Buffer.from(d.jobs[0]!.data!, 'base64').toString('utf8'));
  assert.deepEqual(data, {
    job: 'projects/my-project/locations/europe-west1/jobs/rep-long',
    notebook: '/long.ipynb',
    timeouts: { runSeconds: 30 * 3600 },
    output: 'gs://b/o/',
  });
});

test('jobViolations: each Jobs rule, with its link', () => {
  const ok = { cpu: '1', memory: '512Mi' };
  assert.deepEqual(
    jobViolations({ ...ok, timeoutSeconds: MAX_JOB_TASK_SECONDS, maxRetries: 0, taskCount: 10_000, parallelism: 0 }),
    [],
  );
  const text = (v: Parameters<typeof jobViolations>[0]): string => jobViolations(v).map(violationText).join('\n');
  assert.match(text({ ...ok, timeoutSeconds: 0 }), /task-timeout/);
  assert.match(text({ ...ok, timeoutSeconds: MAX_JOB_TASK_SECONDS + 1 }), /168 hours/);
  assert.match(text({ ...ok, maxRetries: -1 }), /0 to 10/);
  assert.match(text({ ...ok, maxRetries: 1.5 }), /0 to 10/);
  assert.match(text({ ...ok, taskCount: 0 }), /10,000 tasks.*run\/quotas/);
  assert.match(text({ ...ok, taskCount: 10_001 }), /10,000 tasks/);
  assert.match(text({ ...ok, taskCount: 2, parallelism: 3 }), /parallelism 3 with 2 tasks/);
  assert.match(text({ cpu: '0.07', memory: '128Mi' }), /jobs\/cpu/);
  assert.match(text({ cpu: '0.4', memory: '1Gi' }), /0\.5 CPU/);
  assert.match(text({ cpu: '4', memory: '1Gi' }), /memory per CPU/);
  assert.match(text({ cpu: '8', memory: '33Gi' }), /32 GiB/);
  // Service-only rules (concurrency, billing, generation) do not apply to a job.
  assert.equal(text({ cpu: '0.5', memory: '512Mi' }), '');
});

test('quotas: a job-mode notebook counts as a Cloud Run job, not a service; past 1000, a warning', () => {
  const c = manifestCounts(parse(yaml('    execution: job\n')));
  assert.equal(c.servicesAfter, 0);
  assert.equal(c.runJobsAfter, 1);
  assert.deepEqual(quotaFindings(c), []);
  const over = quotaFindings({ ...c, runJobsAfter: RUN_JOBS_PER_REGION + 1 });
  assert.equal(over.length, 1);
  assert.equal(over[0]!.rule.id, 'run.jobs-per-region');
  assert.equal(over[0]!.rule.url, 'https://cloud.google.com/run/quotas');
});
