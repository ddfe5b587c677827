/**
 * `source:` in the manifest: gs://BUCKET/PREFIX/ and `bucket`, the Cloud Storage bucket and object
 * naming rules refused by parseManifest (what `plan --check` runs) with the field and the rule's
 * link, the file read relative to the manifest; the desired state (the service does not change
 * with the notebook's content, the job's message names the object) and the plan (an upload line
 * for a missing object, none for one that exists). Spec: docs/deploy.md ("Notebooks in Cloud Storage").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNbtError } from '../../../functions/errors.js';
import { encodeRich } from '../../../functions/request/encode.js';
import { desiredState } from '../../../deploy/desired.js';
import { parseManifest, type Manifest } from '../../../deploy/manifest.js';
import { bucketNameViolations, objectNameViolations } from '../../../deploy/notebook-source.js';
import { readNotebookSources } from '../../../deploy/notebook-upload.js';
import { planDeploy } from '../../../deploy/plan.js';
import { renderPlan } from '../../../deploy/render.js';
import { RULES, type Rule } from '../../../deploy/rules.js';
import { appliedState, urlsFor } from './fixtures.js';

const yaml = (source: string, more = ''): string => `
name: src
project: my-project
region: europe-west1
notebooks:
  - name: sales
    file: notebooks/sales.ipynb
    source: ${source}
    service: {image: "gcr.io/my-project/kernel:1"}
    schedules:
      - {name: daily, cron: "0 6 * * *", parameters: {region: EU}}
${more}`;

const notebook = (text: string): Buffer =>
  Buffer.from(
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [{ cell_type: 'code', source: text, metadata: {}, outputs: [], execution_count: null }],
    }),
  );

function problems(text: string): Array<{ path: string; message: string }> {
  try {
    parseManifest(text, 'infra/m.yaml');
  } catch (e) {
    assert.ok(isNbtError(e));
    return e.details.problems as Array<{ path: string; message: string }>;
  }
  assert.fail('the manifest was accepted');
}

test('source: gs://BUCKET/PREFIX/ and source: bucket; file: is relative to the manifest', () => {
  const m = parseManifest(yaml('"gs://team-nb/reports"'), 'infra/m.yaml');
  assert.deepEqual(m.notebooks[0]!.source, {
    bucket: 'team-nb',
    prefix: 'reports/',
    file: 'infra/notebooks/sales.ipynb',
  });
  const d = parseManifest(yaml('bucket'), 'm.yaml');
  assert.deepEqual(d.notebooks[0]!.source, {
    bucket: 'my-project-nbtrigger-runs',
    prefix: 'notebooks/',
    file: 'notebooks/sales.ipynb',
  });
  assert.deepEqual(parseManifest(yaml('"gs://team-nb"'), 'm.yaml').notebooks[0]!.source?.prefix, '');
  assert.equal(parseManifest(yaml('"gs://team-nb/a/b/"'), 'm.yaml').notebooks[0]!.source?.prefix, 'a/b/');
  const up = yaml('bucket').replace('file: notebooks/sales.ipynb', 'file: ../examples/hello.ipynb');
  assert.equal(parseManifest(up, 'infra/m.yaml').notebooks[0]!.source?.file, 'examples/hello.ipynb');
  assert.ok(
    problems(up.replace('    source: bucket\n', '')).some((p) => p.path === 'notebooks[0].file'),
    'without source:, the file is in the repository',
  );
});

const refused: Array<{ name: string; source: string; rule: Rule | RegExp }> = [
  { name: 'uppercase bucket', source: '"gs://Team-nb/"', rule: RULES.bucketNameChars },
  { name: 'bucket ending in a dash', source: '"gs://team-nb-/"', rule: RULES.bucketNameChars },
  { name: 'bucket with a space', source: '"gs://team nb/"', rule: RULES.bucketNameChars },
  { name: 'bucket of 2 characters', source: '"gs://ab/"', rule: RULES.bucketNameLength },
  { name: 'bucket of 64 characters', source: `"gs://${'a'.repeat(64)}/"`, rule: RULES.bucketNameLength },
  { name: 'dotted bucket with a part of 64', source: `"gs://a.${'b'.repeat(64)}/"`, rule: RULES.bucketNameLength },
  { name: 'bucket that is an IP address', source: '"gs://192.168.5.4/"', rule: RULES.bucketNameReserved },
  { name: 'bucket starting with goog', source: '"gs://goog-nb/"', rule: RULES.bucketNameReserved },
  { name: 'bucket containing a misspelt google', source: '"gs://my-g00gle-nb/"', rule: RULES.bucketNameReserved },
  { name: 'object name above 1024 bytes', source: `"gs://team-nb/${'é'.repeat(500)}/"`, rule: RULES.objectNameLength },
  {
    name: 'object under .well-known/acme-challenge/',
    source: '"gs://team-nb/.well-known/acme-challenge/"',
    rule: RULES.objectNameChars,
  },
  { name: 'prefix with a line feed', source: '"gs://team-nb/a\\nb/"', rule: RULES.objectNameChars },
  { name: 'prefix with ..', source: '"gs://team-nb/a/../b/"', rule: /without "\/\/", "\." or "\.\." segments/ },
  {
    name: 'not a gs:// folder',
    source: '"s3://team-nb/"',
    rule: /expected a Cloud Storage folder gs:\/\/BUCKET\/PREFIX\//,
  },
];

for (const c of refused) {
  test(`plan --check refuses: ${c.name}`, () => {
    const found = problems(yaml(c.source)).filter((p) => p.path === 'notebooks[0].source');
    assert.ok(found.length > 0, `no problem at notebooks[0].source: ${JSON.stringify(problems(yaml(c.source)))}`);
    const want =
      c.rule instanceof RegExp
        ? c.rule
        : new RegExp(
            `${c.rule.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(${c.rule.url.replace(/[.#/]/g, '\\$&')}\\)`,
          );
    assert.ok(
      found.some((p) => want.test(p.message)),
      `${JSON.stringify(found)} does not match ${want}`,
    );
  });
}

test('naming rules at their edges', () => {
  assert.deepEqual(bucketNameViolations('abc'), []);
  assert.deepEqual(bucketNameViolations('a'.repeat(63)), []);
  assert.deepEqual(bucketNameViolations(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.dd`), []);
  assert.deepEqual(bucketNameViolations('my_bucket.example-1'), []);
  assert.deepEqual(
    bucketNameViolations(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(31)}`).map(
      (v) => v.rule.id,
    ),
    ['storage.bucket-name-length'],
  );
  assert.deepEqual(objectNameViolations('x'.repeat(1024)), []);
  assert.deepEqual(
    objectNameViolations('x'.repeat(1025)).map((v) => v.rule.id),
    ['storage.object-name-length'],
  );
  assert.deepEqual(
    objectNameViolations('..').map((v) => v.rule.id),
    ['storage.object-name-chars'],
  );
  assert.deepEqual(
    objectNameViolations('a\rb').map((v) => v.rule.id),
    ['storage.object-name-chars'],
  );
});

/** An uploaded object's name after its prefix. */
const OBJECT = 'sales-[0-9a-f]{16}\\.ipynb';

async function sourced(text: string): Promise<Manifest> {
  return readNotebookSources(parseManifest(yaml('"gs://team-nb/reports/"'), 'infra/m.yaml'), async () =>
    notebook(text),
  );
}

test('a new notebook content: the service is the same, the job names the new content-addressed object', async () => {
  const a = await sourced('print(1)');
  const b = await sourced('print(2)');
  const [oa, ob] = [a.notebooks[0]!.source!.object!, b.notebooks[0]!.source!.object!];
  assert.match(oa, /^reports\/sales-[0-9a-f]{16}\.ipynb$/);
  assert.notEqual(oa, ob);
  const [da, db] = [desiredState(a, urlsFor(a)), desiredState(b, urlsFor(b))];
  assert.deepEqual(db.services, da.services, 'the service does not change with the notebook');
  const request = db.jobs[0]!.request!;
  assert.equal(request.notebook, `gs://team-nb/${ob}`);
  assert.equal(JSON.parse(Buffer.from(db.jobs[0]!.data!, 'base64').toString('utf8')).notebook, `gs://team-nb/${ob}`);
  assert.deepEqual(JSON.parse(encodeRich(request)).parameters, { region: 'EU' });
  assert.deepEqual(
    db.notebooks.map((n) => n.name),
    [`gs://team-nb/${ob}`],
  );
});

test('plan: an upload line for a missing object, none for one that exists; the job shows the new object', async () => {
  const a = await sourced('print(1)');
  const b = await sourced('print(2)');
  const da = desiredState(a, urlsFor(a));
  const applied = { ...appliedState(da, urlsFor(a)), notebookObjects: new Set(da.notebooks.map((n) => n.name)) };
  const same = planDeploy(da, applied);
  assert.deepEqual(
    same.filter((x) => x.op !== 'noop'),
    [],
    'no change',
  );
  assert.doesNotMatch(renderPlan(same), /notebook/);
  const changed = planDeploy(desiredState(b, urlsFor(b)), applied);
  const up = changed.filter((x) => x.resource === 'notebook');
  assert.deepEqual(
    up.map((x) => [x.op, x.name]),
    [['create', `gs://team-nb/${b.notebooks[0]!.source!.object}`]],
  );
  assert.deepEqual(
    changed
      .filter((x) => x.op !== 'noop')
      .map((x) => x.resource)
      .sort(),
    ['job', 'notebook'],
  );
  const text = renderPlan(changed);
  assert.match(
    text,
    new RegExp(
      `^\\+ notebook gs://team-nb/reports/${OBJECT}\n {6}upload infra/notebooks/sales\\.ipynb \\(sha256 \\w{16}…\\)$`,
      'm',
    ),
  );
  assert.match(
    text,
    new RegExp(`^~ job {5}.*src_daily\n {6}message: .*reports/${OBJECT}.* → .*reports/${OBJECT}`, 'm'),
  );
});

test('a missing, oversized or non-notebook file is refused naming it', async () => {
  const m = parseManifest(yaml('bucket'), 'm.yaml');
  await assert.rejects(readNotebookSources(m), /notebook sales: cannot read notebooks\/sales\.ipynb/);
  await assert.rejects(
    readNotebookSources(m, async () => Buffer.from('{"cells": []}')),
    /notebooks\/sales\.ipynb is not a Jupyter notebook/,
  );
  await assert.rejects(
    readNotebookSources(m, async () => Buffer.from('nope')),
    /notebooks\/sales\.ipynb is not JSON/,
  );
});

test('in an included file, file: of a source: notebook is relative to that file', () => {
  const files: Record<string, string> = {
    'infra/teams/sales.yaml':
      'notebooks:\n  - {name: team, file: nb/team.ipynb, source: bucket, service: {image: "gcr.io/p/k:1"}}\n',
  };
  const m = parseManifest(`${yaml('bucket')}include: [teams/sales.yaml]\n`, 'infra/m.yaml', {
    read: (path) => files[path] ?? assert.fail(`read ${path}`),
    folder: () => undefined,
  });
  assert.deepEqual(
    m.notebooks.map((nb) => nb.source?.file),
    ['infra/notebooks/sales.ipynb', 'infra/teams/nb/team.ipynb'],
  );
});
