/**
 * deploy/quotas.ts: the documented quotas a plan meets, at their edges, from a plan's actions and
 * from the manifest alone; each finding names the rule and its page. Spec: docs/deploy.md ("Quotas").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  manifestCounts,
  planCounts,
  quotaFindings,
  renderQuotas,
  SCHEDULER_JOBS_DEFAULT,
  SCHEDULER_JOBS_MAX,
} from '../../../deploy/quotas.js';
import { parseManifest } from '../../../deploy/manifest.js';
import type { Action, ActualState } from '../../../deploy/plan.js';
import { generatedManifest } from '../../helpers/manifest-gen.js';

const none = { jobsAfter: 0, servicesAfter: 0, schedulerWrites: 0, runWrites: 0 };

test('edges: at a quota nothing is said, one past it is', () => {
  assert.deepEqual(
    quotaFindings({
      ...none,
      jobsAfter: SCHEDULER_JOBS_DEFAULT,
      servicesAfter: 1000,
      schedulerWrites: 500,
      runWrites: 99,
    }),
    [],
  );
  const over = quotaFindings({
    jobsAfter: SCHEDULER_JOBS_DEFAULT + 1,
    servicesAfter: 1001,
    schedulerWrites: 501,
    runWrites: 100,
  });
  assert.deepEqual(
    over.map((f) => `${f.level} ${f.rule.id}`),
    [
      'warn scheduler.jobs-per-region',
      'warn run.services-per-region',
      'note scheduler.write-rate',
      'note run.admin-write-rate',
    ],
  );
  assert.match(
    renderQuotas(over),
    new RegExp(
      /^WARN quota scheduler\.jobs-per-region: 1001 jobs in the region: /.source +
        /.*\(https:\/\/cloud\.google\.com\/scheduler\/quotas\)$/.source,
      'm',
    ),
  );
  assert.match(renderQuotas(over), /501 job writes take at least 2 minutes/);
  const max = quotaFindings({ ...none, jobsAfter: SCHEDULER_JOBS_MAX + 1 });
  assert.deepEqual(
    max.map((f) => f.level),
    ['error'],
  );
});

test('plan counts: what exists, less deletes, plus creates; writes by API', () => {
  const actual: ActualState = {
    services: [
      { name: 's1', labels: {} },
      { name: 's2', labels: {} },
    ],
    invokers: new Map(),
    jobs: Array.from({ length: 999 }, (_, i) => ({
      name: `j${i}`,
      description: '',
      schedule: '',
      timeZone: '',
      attributes: {},
    })),
  };
  const a = (resource: Action['resource'], op: Action['op']): Action => ({
    resource,
    op,
    name: `${resource}-${op}`,
    changes: [],
  });
  const actions = [
    a('service', 'create'),
    a('iam', 'update'),
    a('service', 'noop'),
    a('job', 'create'),
    a('job', 'create'),
    a('job', 'delete'),
    a('job', 'noop'),
  ];
  assert.deepEqual(planCounts(actual, actions), {
    jobsAfter: 1000,
    servicesAfter: 3,
    schedulerWrites: 3,
    runWrites: 2,
    runJobsAfter: 0,
  });
});

test('the manifest alone: a first deploy of 2,501 notebooks × 2 schedules breaks the 5,000-job maximum', () => {
  const m = parseManifest(generatedManifest(2501), 'big.yaml');
  assert.deepEqual(manifestCounts(m), {
    jobsAfter: 5002,
    servicesAfter: 2501,
    schedulerWrites: 5002,
    runWrites: 5002,
    runJobsAfter: 0,
  });
  assert.equal(quotaFindings(manifestCounts(m))[0]!.level, 'error');
});
