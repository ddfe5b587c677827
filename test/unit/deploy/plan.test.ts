/**
 * The plan, table-driven: desired state + actual state → actions. Pure.
 * Spec: docs/deploy.md (plan; prune of nbtrigger's jobs; resources nbtrigger did not make never touched).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredState, jobId } from '../../../deploy/desired.js';
import { isMutating, planDeploy, planDestroy, type Action, type ActualState } from '../../../deploy/plan.js';
import { renderPlan } from '../../../deploy/render.js';
import { appliedState, manifest, urlsFor } from './fixtures.js';

const m = manifest();
const urls = urlsFor(m);
const desired = desiredState(m, urls);
const LOC = 'projects/my-project/locations/europe-west1';
const SALES = `${LOC}/services/reports-sales`;
const OPS = `${LOC}/services/reports-ops`;
const NIGHTLY = `${LOC}/jobs/${jobId('reports', 'nightly')}`;
const HOURLY = `${LOC}/jobs/reports_hourly`;
const TOPIC = 'projects/my-project/topics/t_nbtrigger';
const FN = 'serviceAccount:fn@my-project.iam.gserviceaccount.com';

/** `op resource name` of each action, for compact expectations. */
function ops(actions: Action[]): string[] {
  return actions.map((a) => `${a.op} ${a.resource} ${a.name}`);
}

function state(edit: (s: ActualState) => void): ActualState {
  const s = appliedState(desired, urls);
  edit(s);
  return s;
}

const foreignJob = {
  name: `${LOC}/jobs/someone-elses`,
  description: 'cron by hand',
  schedule: '* * * * *',
  timeZone: 'UTC',
  attributes: {},
};

const cases: Array<{ name: string; actual: ActualState; expect: string[]; changes?: Record<string, string[]> }> = [
  {
    name: 'nothing exists: create services, grant invoker, create topic and jobs',
    actual: { services: [], invokers: new Map(), jobs: [] },
    expect: [
      `create service ${SALES}`,
      `create service ${OPS}`,
      `update iam ${SALES}`,
      `update iam ${OPS}`,
      `create topic ${TOPIC}`,
      `create job ${NIGHTLY}`,
      `create job ${HOURLY}`,
    ],
    changes: { [`iam ${SALES}`]: [`+ roles/run.invoker ${FN}`] },
  },
  {
    name: 'everything as wanted: only no-ops',
    actual: state(() => {}),
    expect: [
      `noop service ${SALES}`,
      `noop service ${OPS}`,
      `noop iam ${SALES}`,
      `noop iam ${OPS}`,
      `noop topic ${TOPIC}`,
      `noop job ${NIGHTLY}`,
      `noop job ${HOURLY}`,
    ],
  },
  {
    name: 'image and memory changed: update the service only',
    actual: state((s) => {
      s.services[0]!.image = 'old:v0';
      s.services[0]!.memory = '2Gi';
    }),
    expect: [
      `update service ${SALES}`,
      `noop service ${OPS}`,
      `noop iam ${SALES}`,
      `noop iam ${OPS}`,
      `noop topic ${TOPIC}`,
      `noop job ${NIGHTLY}`,
      `noop job ${HOURLY}`,
    ],
    changes: {
      [`service ${SALES}`]: [
        'image: "old:v0" → "europe-docker.pkg.dev/my-project/nb/sales:v1"',
        'memory: "2Gi" → "4Gi"',
      ],
    },
  },
  {
    name: 'cron and time zone changed: update the job',
    actual: state((s) => {
      s.jobs[0]!.schedule = '0 3 * * *';
      s.jobs[0]!.timeZone = 'UTC';
    }),
    expect: [
      `noop service ${SALES}`,
      `noop service ${OPS}`,
      `noop iam ${SALES}`,
      `noop iam ${OPS}`,
      `noop topic ${TOPIC}`,
      `update job ${NIGHTLY}`,
      `noop job ${HOURLY}`,
    ],
    changes: { [`job ${NIGHTLY}`]: ['schedule: "0 3 * * *" → "0 2 * * *"', 'timeZone: "UTC" → "Europe/Paris"'] },
  },
  {
    name: 'service URL changed: the message changes',
    actual: state((s) => {
      s.jobs[1]!.data = Buffer.from('old-host:443 /ops.ipynb --use-https').toString('base64');
    }),
    expect: [
      `noop service ${SALES}`,
      `noop service ${OPS}`,
      `noop iam ${SALES}`,
      `noop iam ${OPS}`,
      `noop topic ${TOPIC}`,
      `noop job ${NIGHTLY}`,
      `update job ${HOURLY}`,
    ],
  },
  {
    name: "a job of this deployment no longer in the manifest is pruned; foreign and other deployments' jobs are not",
    actual: state((s) => {
      s.jobs.push({ ...s.jobs[0]!, name: `${LOC}/jobs/reports_old` });
      s.jobs.push({
        ...s.jobs[0]!,
        name: `${LOC}/jobs/billing_x`,
        attributes: { ...s.jobs[0]!.attributes, 'nbtrigger-deployment': 'billing' },
      });
      s.jobs.push(foreignJob);
    }),
    expect: [
      `noop service ${SALES}`,
      `noop service ${OPS}`,
      `noop iam ${SALES}`,
      `noop iam ${OPS}`,
      `noop topic ${TOPIC}`,
      `noop job ${NIGHTLY}`,
      `noop job ${HOURLY}`,
      `delete job ${LOC}/jobs/reports_old`,
    ],
  },
  {
    name: 'a job of the same name nbtrigger did not make is a conflict',
    actual: state((s) => {
      s.jobs[0]!.attributes = {};
    }),
    expect: [
      `noop service ${SALES}`,
      `noop service ${OPS}`,
      `noop iam ${SALES}`,
      `noop iam ${OPS}`,
      `noop topic ${TOPIC}`,
      `conflict job ${NIGHTLY}`,
      `noop job ${HOURLY}`,
    ],
  },
  {
    name: 'a service of the same name nbtrigger did not make is a conflict (and its IAM is left alone)',
    actual: state((s) => {
      s.services[1]!.labels = { team: 'x' };
    }),
    expect: [
      `noop service ${SALES}`,
      `conflict service ${OPS}`,
      `noop iam ${SALES}`,
      `noop topic ${TOPIC}`,
      `noop job ${NIGHTLY}`,
      `noop job ${HOURLY}`,
    ],
  },
  {
    name: 'a public service is made private and the function added',
    actual: state((s) => {
      (s.invokers as Map<string, string[]>).set(SALES, ['allUsers', 'user:me@example.com']);
    }),
    expect: [
      `noop service ${SALES}`,
      `noop service ${OPS}`,
      `update iam ${SALES}`,
      `noop iam ${OPS}`,
      `noop topic ${TOPIC}`,
      `noop job ${NIGHTLY}`,
      `noop job ${HOURLY}`,
    ],
    changes: {
      [`iam ${SALES}`]: [`+ roles/run.invoker ${FN}`, '- roles/run.invoker allUsers (the service is not public)'],
    },
  },
  {
    name: 'a service of this deployment no longer in the manifest is deleted after the jobs',
    actual: state((s) => {
      s.services.push({ ...s.services[0]!, name: `${LOC}/services/reports-old` });
      s.services.push({ name: `${LOC}/services/other`, labels: {} });
    }),
    expect: [
      `noop service ${SALES}`,
      `noop service ${OPS}`,
      `noop iam ${SALES}`,
      `noop iam ${OPS}`,
      `noop topic ${TOPIC}`,
      `noop job ${NIGHTLY}`,
      `noop job ${HOURLY}`,
      `delete service ${LOC}/services/reports-old`,
    ],
  },
  {
    name: 'a topic nbtrigger did not make is used as is',
    actual: state((s) => {
      s.topic = { name: TOPIC, labels: {} };
    }),
    expect: [
      `noop service ${SALES}`,
      `noop service ${OPS}`,
      `noop iam ${SALES}`,
      `noop iam ${OPS}`,
      `noop topic ${TOPIC}`,
      `noop job ${NIGHTLY}`,
      `noop job ${HOURLY}`,
    ],
    changes: { [`topic ${TOPIC}`]: ['exists (not made by nbtrigger: used as is)'] },
  },
];

for (const c of cases) {
  test(`planDeploy: ${c.name}`, () => {
    const actions = planDeploy(desired, c.actual);
    assert.deepEqual(ops(actions), c.expect, renderPlan(actions));
    for (const [key, want] of Object.entries(c.changes ?? {})) {
      const a = actions.find((x) => `${x.resource} ${x.name}` === key);
      assert.ok(a, `no action for ${key}`);
      assert.deepEqual(a.changes, want);
    }
  });
}

test('planDeploy: jobs of services not created yet carry no message until the URL is known', () => {
  const noUrls = desiredState(m);
  const actions = planDeploy(noUrls, { services: [], invokers: new Map(), jobs: [] });
  const job = actions.find((a) => a.name === NIGHTLY)!;
  assert.equal(job.op, 'create');
  assert.equal(job.job?.data, undefined);
  assert.deepEqual(job.changes, ['message: set once service reports-sales has its URL']);
});

test('planDeploy: an applied plan is a fixed point (no mutating action)', () => {
  assert.equal(planDeploy(desired, appliedState(desired, urls)).filter(isMutating).length, 0);
});

const destroyCases: Array<{ name: string; actual: ActualState; expect: string[] }> = [
  {
    name: 'deletes jobs, then services, then the topic nbtrigger made',
    actual: state((s) => {
      s.jobs.push(foreignJob);
      s.services.push({
        name: `${LOC}/services/other`,
        labels: { 'managed-by': 'nbtrigger', 'nbtrigger-deployment': 'billing' },
      });
    }),
    expect: [
      `delete job ${NIGHTLY}`,
      `delete job ${HOURLY}`,
      `delete service ${SALES}`,
      `delete service ${OPS}`,
      `delete topic ${TOPIC}`,
    ],
  },
  {
    name: 'keeps a topic nbtrigger did not make',
    actual: state((s) => {
      s.topic = { name: TOPIC, labels: {} };
      s.jobs = [];
      s.services = [];
    }),
    expect: [`noop topic ${TOPIC}`],
  },
  { name: 'nothing there: nothing to do', actual: { services: [], invokers: new Map(), jobs: [] }, expect: [] },
];

for (const c of destroyCases) {
  test(`planDestroy: ${c.name}`, () => {
    assert.deepEqual(ops(planDestroy('reports', TOPIC, c.actual)), c.expect);
  });
}
