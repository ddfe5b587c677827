/**
 * Manifest validation: defaults, the example in infra/, and errors that name the file, the line,
 * the field path and what was expected. Spec: docs/deploy.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNbtError } from '../../../functions/errors.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { manifest, MANIFEST_YAML } from './fixtures.js';

test('manifest: defaults are filled in', () => {
  const m = manifest();
  assert.equal(m.topic, 't_nbtrigger');
  assert.equal(m.tokenSecret, 'nbtrigger-jupyter-token');
  assert.deepEqual(m.function, {
    name: 'runNotebook',
    serviceAccount: 'fn@my-project.iam.gserviceaccount.com',
    maxDeliveryAttempts: 5,
    allowedServers: [],
  });
  const [sales, ops] = m.notebooks;
  assert.deepEqual(sales!.service, {
    name: 'reports-sales',
    image: 'europe-docker.pkg.dev/my-project/nb/sales:v1',
    cpu: '1',
    memory: '4Gi',
    concurrency: 80,
    billing: 'request',
    startupCpuBoost: true,
    minInstances: 0,
    maxInstances: 1,
    timeoutSeconds: 3600,
    labels: {},
  });
  assert.equal(sales!.path, 'notebooks/sales.ipynb');
  assert.deepEqual(sales!.schedules[1], { name: 'hourly', cron: '15 * * * *', timeZone: 'UTC', concurrency: 'skip' });
  assert.deepEqual(sales!.schedules[0]!.parameters, { region: 'EU', limit: 10 });
  assert.equal(ops!.service.maxInstances, 2);
  assert.deepEqual(ops!.schedules, []);
});

test(
  'manifest: the example infra/nbtrigger.yaml is valid and builds its image from notebook-image/ ' +
    '(no image until one is named)',
  () => {
    const file = join(PROJECT_ROOT, 'infra', 'nbtrigger.yaml');
    const m = parseManifest(readFileSync(file, 'utf8'), file);
    assert.equal(m.notebooks[0]!.service.build?.context, 'notebook-image');
    assert.equal(m.notebooks[0]!.service.image, undefined);
    assert.equal(m.notebooks[0]!.service.timeoutSeconds, 3600);
    assert.deepEqual(m.notebooks[0]!.schedules[0]!.timeouts, { startSeconds: 300, runSeconds: 480 });
  },
);

/** Replaces one line of the fixture. */
function edit(from: string, to: string): string {
  assert.ok(MANIFEST_YAML.includes(from), `fixture lacks ${from}`);
  return MANIFEST_YAML.replace(from, to);
}

const bad: Array<{ name: string; yaml: string; path: string; expect: RegExp; line?: number }> = [
  {
    name: 'six-field cron',
    yaml: edit('cron: "0 2 * * *"', 'cron: "0 0 2 * * *"'),
    path: 'notebooks[0].schedules[0].cron',
    expect: /5-field unix-cron.*got 6 fields/,
    line: 15,
  },
  {
    name: 'Quartz L in cron',
    yaml: edit('cron: "0 2 * * *"', 'cron: "0 2 L * *"'),
    path: 'notebooks[0].schedules[0].cron',
    expect: /day-of-month field "L"/,
  },
  {
    name: 'minute out of range',
    yaml: edit('cron: "15 * * * *"', 'cron: "75 * * * *"'),
    path: 'notebooks[0].schedules[1].cron',
    expect: /minute/i,
  },
  {
    name: 'unknown time zone',
    yaml: edit('timeZone: Europe/Paris', 'timeZone: Europe/Pariss'),
    path: 'notebooks[0].schedules[0].timeZone',
    expect: /not an IANA time zone/,
  },
  {
    name: 'time zone in the wrong case',
    yaml: edit('timeZone: Europe/Paris', 'timeZone: europe/paris'),
    path: 'notebooks[0].schedules[0].timeZone',
    expect: /must be written "Europe\/Paris"/,
  },
  {
    name: 'bad concurrency',
    yaml: edit('output: gs://bucket/runs/', 'output: gs://bucket/runs/\n        concurrency: never'),
    path: 'notebooks[0].schedules[0].concurrency',
    expect: /one of skip, queue, allow/,
  },
  {
    name: 'typo in a field name',
    yaml: edit('memory: 4Gi', 'memroy: 4Gi'),
    path: 'notebooks[0].service.memroy',
    expect: /unknown field "memroy" \(known: .*memory/,
  },
  {
    name: 'both image and build',
    yaml: edit('memory: 4Gi', 'memory: 4Gi\n      build: notebook-image'),
    path: 'notebooks[0].service.image',
    expect: /either "image" or "build"/,
  },
  {
    name: 'minInstances above maxInstances',
    yaml: edit('maxInstances: 2', 'maxInstances: 2, minInstances: 3'),
    path: 'notebooks[1].service.minInstances',
    expect: /integer from 0 to 2/,
  },
  {
    name: "timeout above Cloud Run's limit",
    yaml: edit('memory: 4Gi', 'memory: 4Gi\n      timeout: 2h'),
    path: 'notebooks[0].service.timeout',
    expect: /1 to 3600 seconds/,
  },
  {
    name: 'not a notebook file',
    yaml: edit('file: ops.ipynb', 'file: ops.py'),
    path: 'notebooks[1].file',
    expect: /\.ipynb/,
  },
  {
    name: 'path escaping the root',
    yaml: edit('file: ops.ipynb', 'file: ../ops.ipynb'),
    path: 'notebooks[1].file',
    expect: /relative path/,
  },
  {
    name: 'duplicate schedule names (reported beside other problems)',
    yaml: edit('name: hourly', 'name: nightly').replace('memory: 4Gi', 'memory: lots'),
    path: 'notebooks[0].schedules[1].name',
    expect: /already used at notebooks\[0\]\.schedules\[0\]\.name/,
  },
  {
    name: 'bad project id',
    yaml: edit('project: my-project', 'project: My_Project'),
    path: 'project',
    expect: /project id/,
  },
  {
    name: 'no notebooks',
    yaml: 'name: a\nproject: my-project\nregion: europe-west1\nnotebooks: []\n',
    path: 'notebooks',
    expect: /at least 1 item/,
  },
  {
    name: 'parameter name not an identifier',
    yaml: edit('{region: EU, limit: 10}', '{"my-region": EU}'),
    path: 'notebooks[0].schedules[0].parameters.my-region',
    expect: /Python identifier/,
  },
  {
    name: 'reserved label',
    yaml: edit('memory: 4Gi', 'memory: 4Gi\n      labels: {managed-by: me}'),
    path: 'notebooks[0].service.labels.managed-by',
    expect: /reserved/,
  },
];

for (const c of bad) {
  test(`manifest error: ${c.name}`, () => {
    assert.throws(
      () => parseManifest(c.yaml, 'deploy.yaml'),
      (e: unknown) => {
        assert.ok(isNbtError(e));
        assert.equal(e.code, 'CONFIG');
        const problems = e.details.problems as Array<{ path: string; message: string; line?: number }>;
        const p = problems.find((x) => x.path === c.path);
        assert.ok(p, `no problem at ${c.path}; got ${JSON.stringify(problems)}`);
        assert.match(p.message, c.expect);
        assert.match(e.message, new RegExp(`deploy\\.yaml:\\d+:\\d+: ${c.path.replace(/[[\].]/g, '\\$&')}: `));
        if (c.line !== undefined) assert.equal(p.line, c.line);
        return true;
      },
    );
  });
}

test('manifest error: every problem is reported at once', () => {
  const yaml = edit('memory: 4Gi', 'memory: lots').replace('cron: "15 * * * *"', 'cron: "nope"');
  assert.throws(
    () => parseManifest(yaml, 'x.yaml'),
    (e: unknown) => {
      assert.ok(isNbtError(e));
      assert.deepEqual((e.details.problems as Array<{ path: string }>).map((p) => p.path).sort(), [
        'notebooks[0].schedules[1].cron',
        'notebooks[0].service.memory',
      ]);
      assert.match(e.message, /2 problems/);
      return true;
    },
  );
});

test('manifest error: YAML syntax errors name the file and line', () => {
  assert.throws(
    () => parseManifest('name: a\nproject: [unclosed\n', 'broken.yaml'),
    (e: unknown) => {
      assert.ok(isNbtError(e));
      assert.match(e.message, /broken\.yaml:\d+:\d+: /);
      return true;
    },
  );
  assert.throws(() => parseManifest('name: a\nname: b\n', 'dup.yaml'), /dup\.yaml:2:1: .*[Mm]ap keys must be unique/);
});
