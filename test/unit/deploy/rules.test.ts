/**
 * The API rules on the manifest, table-driven: each manifest the API would refuse is refused by
 * parseManifest (what `plan --check` runs), naming the field and the rule with its link; values
 * at the edges are accepted. Also the image rules: one naming rule, `--built-image`, and a
 * `build:` service with no known image refused by name. Pure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNbtError } from '../../../functions/errors.js';
import { desiredState, requireImages } from '../../../deploy/desired.js';
import { builtImage, builtImageProblem, withImages } from '../../../deploy/image.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { MAX_RUN_SECONDS, RULES, runViolations, type Rule } from '../../../deploy/rules.js';

const yaml = (service: string, extra: { schedule?: string; fn?: string } = {}): string => `
name: rules
project: my-project
region: europe-west1
function: {serviceAccount: fn@my-project.iam.gserviceaccount.com${extra.fn ?? ''}}
notebooks:
  - name: nb
    file: nb.ipynb
    service: {image: "gcr.io/my-project/nb:1"${service}}
    schedules:
      - {name: daily, cron: "0 6 * * *"${extra.schedule ?? ''}}
`;

const refused: Array<{ name: string; yaml: string; path: string; rule: Rule }> = [
  {
    name: 'CPU 3 is not a Cloud Run value',
    yaml: yaml(', cpu: 3, memory: 4Gi'),
    path: 'notebooks[0].service.cpu',
    rule: RULES.cpuValues,
  },
  {
    name: 'CPU 16 is above 8',
    yaml: yaml(', cpu: 16, memory: 8Gi'),
    path: 'notebooks[0].service.cpu',
    rule: RULES.cpuValues,
  },
  {
    name: 'CPU below 0.08',
    yaml: yaml(', cpu: 0.05, memory: 256Mi, concurrency: 1'),
    path: 'notebooks[0].service.cpu',
    rule: RULES.cpuValues,
  },
  {
    name: '1 CPU with 8 GiB',
    yaml: yaml(', cpu: 1, memory: 8Gi'),
    path: 'notebooks[0].service.memory',
    rule: RULES.memoryPerCpu,
  },
  {
    name: '4 CPU with 1 GiB',
    yaml: yaml(', cpu: 4, memory: 1Gi'),
    path: 'notebooks[0].service.memory',
    rule: RULES.memoryPerCpu,
  },
  {
    name: '8 CPU with 64 GiB',
    yaml: yaml(', cpu: 8, memory: 64Gi'),
    path: 'notebooks[0].service.memory',
    rule: RULES.memoryBounds,
  },
  {
    name: '0.5 CPU with 2 GiB',
    yaml: yaml(', cpu: 0.5, memory: 2Gi'),
    path: 'notebooks[0].service.memory',
    rule: RULES.fractionalMemory,
  },
  {
    name: '0.25 CPU with 1 GiB',
    yaml: yaml(', cpu: 0.25, memory: 1Gi'),
    path: 'notebooks[0].service.memory',
    rule: RULES.fractionalMemory,
  },
  {
    name: 'below 1 CPU, concurrency must be 1',
    yaml: yaml(', cpu: 0.5, memory: 512Mi'),
    path: 'notebooks[0].service.concurrency',
    rule: RULES.fractionalConcurrency,
  },
  {
    name: 'below 1 CPU, billing must be request-based',
    yaml: yaml(', cpu: 0.5, memory: 512Mi, billing: instance'),
    path: 'notebooks[0].service.billing',
    rule: RULES.fractionalBilling,
  },
  {
    name: 'the notebook service needs concurrency 2',
    yaml: yaml(', concurrency: 1'),
    path: 'notebooks[0].service.concurrency',
    rule: RULES.notebookConcurrency,
  },
  {
    name: 'a run longer than the function can hold',
    yaml: yaml('', { schedule: ', timeouts: {run: 30m}' }),
    path: 'notebooks[0].schedules[0].timeouts.run',
    rule: RULES.functionCeiling,
  },
  {
    name: 'a run of 511 s',
    yaml: yaml('', { schedule: ', timeouts: {run: 511}' }),
    path: 'notebooks[0].schedules[0].timeouts.run',
    rule: RULES.functionCeiling,
  },
  {
    name: '4 delivery attempts',
    yaml: yaml('', { fn: ', maxDeliveryAttempts: 4' }),
    path: 'function.maxDeliveryAttempts',
    rule: RULES.deliveryAttempts,
  },
  {
    name: '101 delivery attempts',
    yaml: yaml('', { fn: ', maxDeliveryAttempts: 101' }),
    path: 'function.maxDeliveryAttempts',
    rule: RULES.deliveryAttempts,
  },
];

for (const c of refused) {
  test(`plan --check refuses: ${c.name}, naming the field and the rule`, () => {
    assert.throws(
      () => parseManifest(c.yaml, 'rules.yaml'),
      (e: unknown) => {
        assert.ok(isNbtError(e));
        const problems = e.details.problems as Array<{ path: string; message: string }>;
        const p = problems.find((x) => x.path === c.path);
        assert.ok(p, `no problem at ${c.path}: ${e.message}`);
        assert.ok(p.message.includes(c.rule.url), `${p.message} does not name ${c.rule.url}`);
        assert.ok(p.message.includes(c.rule.text.slice(0, 30)), p.message);
        return true;
      },
    );
  });
}

const accepted: Array<[string, string, { schedule?: string; fn?: string }?]> = [
  ['the defaults (1 CPU, 2 GiB, concurrency 80)', ''],
  ['2 CPU with 8 GiB', ', cpu: 2, memory: 8Gi'],
  ['4 CPU with 2 GiB', ', cpu: 4, memory: 2Gi'],
  [
    '8 CPU with 32 GiB, instance billing, no boost',
    ', cpu: 8, memory: 32Gi, billing: instance, startupCpuBoost: false',
  ],
  [
    'a run of exactly 510 s, 100 delivery attempts',
    '',
    { schedule: ', timeouts: {run: 510}', fn: ', maxDeliveryAttempts: 100' },
  ],
];
for (const [name, service, extra] of accepted) {
  test(`plan --check accepts: ${name}`, () => {
    assert.doesNotThrow(() => parseManifest(yaml(service, extra), 'ok.yaml'));
  });
}

test('rules: the fractional-CPU rules hold together, and the ceiling is 540 − 30', () => {
  assert.equal(MAX_RUN_SECONDS, 510);
  assert.deepEqual(runViolations({ cpu: '0.5', memory: '1Gi', concurrency: 1, cpuIdle: true }), []);
  assert.deepEqual(runViolations({ cpu: '500m', memory: '512Mi', concurrency: 1, cpuIdle: true }), []);
  assert.deepEqual(
    runViolations({ cpu: '0.5', memory: '512Mi', concurrency: 1, cpuIdle: true, executionEnvironment: 'gen2' }).map(
      (v) => v.rule.id,
    ),
    ['run.fractional-gen1'],
  );
  assert.deepEqual(
    runViolations({ cpu: '0.0805', memory: '256Mi', concurrency: 1, cpuIdle: true }).map((v) => v.rule.id),
    ['run.cpu-values'],
  );
  assert.deepEqual(
    runViolations({ cpu: '1', memory: '2Gi', cpuIdle: false, timeoutSeconds: 3601 }).map((v) => v.rule.id),
    ['run.request-timeout'],
  );
  assert.deepEqual(
    runViolations({ cpu: '1', memory: '2Gi', cpuIdle: true, minInstances: 3, maxInstances: 2 }).map((v) => v.field),
    ['minInstances'],
  );
});

test(
  'images: one naming rule; --built-image must be pinned; ' + 'a build: service with no known image is refused by name',
  () => {
    assert.equal(
      builtImage('europe-west1', 'my-project', 'abc123'),
      'europe-west1-docker.pkg.dev/my-project/nbtrigger/notebook:abc123',
    );
    assert.equal(builtImageProblem(builtImage('europe-west1', 'p', 'abc')), undefined);
    assert.match(builtImageProblem('europe-west1-docker.pkg.dev/p/nbtrigger/notebook') ?? '', /explicit tag or digest/);
    const m = parseManifest(
      yaml('').replace('service: {image: "gcr.io/my-project/nb:1"}', 'service: {build: notebook-image}'),
      'b.yaml',
    );
    assert.throws(
      () => requireImages(withImages(m, undefined, new Map())),
      (e: unknown) => {
        assert.ok(isNbtError(e));
        assert.equal(e.code, 'CONFIG');
        assert.match(
          e.message,
          new RegExp(
            /no image is known for service rules-nb .*/.source +
              /--built-image europe-west1-docker\.pkg\.dev\/my-project\/nbtrigger\/notebook:TAG/.source,
          ),
        );
        return true;
      },
    );
    const ref = builtImage('europe-west1', 'my-project', 'b1');
    assert.equal(desiredState(withImages(m, ref, new Map())).services[0]!.image, ref);
    // Without --built-image, the image the deployment's service runs now is kept (no change shown after a
    // Cloud Build deploy).
    assert.equal(desiredState(withImages(m, undefined, new Map([['rules-nb', ref]]))).services[0]!.image, ref);
    // An image: service keeps its own image whatever --built-image says.
    const fixed = parseManifest(yaml(''), 'f.yaml');
    assert.equal(desiredState(withImages(fixed, ref, new Map())).services[0]!.image, 'gcr.io/my-project/nb:1');
  },
);
