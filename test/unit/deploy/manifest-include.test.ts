/**
 * `include:` (deploy/manifest-include.ts): other manifest files and folders of them join the
 * manifest's notebooks with the same validation; every problem names the file it is in, its line
 * and the field; name clashes across files name both; unreadable files, cycles and fields an
 * included file may not set are refused. Spec: docs/deploy.md ("Splitting a manifest").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNbtError } from '../../../functions/errors.js';
import { parseManifest, type ManifestSource } from '../../../deploy/manifest.js';

const ROOT = (include: string, own = ''): string => `
name: reports
project: my-project
region: europe-west1
include: ${include}
${own}`;

const team = (prefix: string, cron = '0 6 * * *'): string => `
notebooks:
  - name: ${prefix}-a
    file: ${prefix}/a.ipynb
    service: {image: "gcr.io/p/nb:1"}
    schedules:
      - {name: ${prefix}-a-daily, cron: "${cron}", timeZone: Europe/Paris}
  - name: ${prefix}-b
    file: ${prefix}/b.ipynb
    service: {image: "gcr.io/p/nb:1"}
`;

function source(files: Record<string, string>): ManifestSource {
  return {
    read(path) {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file, open '${path}'`);
      return text;
    },
    folder(path) {
      const inside = Object.keys(files)
        .filter((f) => f.startsWith(`${path}/`) && /\.ya?ml$/.test(f))
        .sort();
      return inside.length > 0 ? inside : undefined;
    },
  };
}

function problemsOf(text: string, files: Record<string, string>): string[] {
  try {
    parseManifest(text, 'infra/m.yaml', source(files));
  } catch (e) {
    assert.ok(isNbtError(e) && e.code === 'CONFIG', String(e));
    return e.message
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
  }
  assert.fail('expected the manifest to be refused');
}

test("a folder per team: its files join the manifest's notebooks, in name order, after its own", () => {
  const own = 'notebooks:\n  - {name: core, file: core.ipynb, service: {image: "gcr.io/p/nb:1"}}\n';
  const m = parseManifest(
    ROOT('[teams]', own),
    'infra/m.yaml',
    source({ 'infra/teams/sales.yaml': team('sales'), 'infra/teams/ops.yml': team('ops') }),
  );
  assert.deepEqual(
    m.notebooks.map((n) => n.name),
    ['core', 'ops-a', 'ops-b', 'sales-a', 'sales-b'],
  );
  assert.deepEqual(m.included, ['infra/teams/ops.yml', 'infra/teams/sales.yaml']);
  assert.equal(m.notebooks[1]!.service.name, 'reports-ops-a', 'the deployment name applies to included notebooks');
  assert.equal(m.notebooks[1]!.schedules[0]!.timeZone, 'Europe/Paris');
});

test('nested includes resolve against the including file; no notebooks anywhere is refused', () => {
  const m = parseManifest(
    ROOT('[teams/all.yaml]'),
    'infra/m.yaml',
    source({
      'infra/teams/all.yaml': 'include: [sales/x.yaml]\n',
      'infra/teams/sales/x.yaml': team('sales'),
    }),
  );
  assert.deepEqual(
    m.notebooks.map((n) => n.name),
    ['sales-a', 'sales-b'],
  );
  assert.deepEqual(problemsOf(ROOT('[empty.yaml]'), { 'infra/empty.yaml': 'notebooks: []\n' }), [
    'infra/m.yaml:5:10: include: expected at least 1 notebook in the manifest or the files it includes, got none',
  ]);
});

test('a problem in an included file names that file, its line and the field', () => {
  const lines = problemsOf(ROOT('[teams]'), { 'infra/teams/a.yaml': team('sales', '0 6 * *') });
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    /^infra\/teams\/a\.yaml:7:\d+: notebooks\[0\]\.schedules\[0\]\.cron: expected a 5-field unix-cron expression/,
  );
});

test('a name used in two files is refused, naming both', () => {
  const lines = problemsOf(ROOT('[teams]'), {
    'infra/teams/a.yaml': team('sales'),
    'infra/teams/b.yaml': team('sales'),
  });
  assert.ok(
    lines.some((l) =>
      new RegExp(
        /^infra\/teams\/b\.yaml:\d+:\d+: notebooks\[0\]\.name: notebook name "sales-a" /.source +
          /is already used at infra\/teams\/a\.yaml: notebooks\[0\]\.name/.source,
      ).test(l),
    ),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) =>
      new RegExp(
        /schedule name "sales-a-daily" is already used at /.source +
          /infra\/teams\/a\.yaml: notebooks\[0\]\.schedules\[0\]\.name/.source,
      ).test(l),
    ),
    lines.join('\n'),
  );
});

test('unreadable files, cycles, YAML errors and fields an included file may not set', () => {
  assert.deepEqual(problemsOf(ROOT('[teams/x.yaml]'), {}), [
    "infra/m.yaml:5:11: include[0]: cannot read infra/teams/x.yaml: ENOENT: no such file, open 'infra/teams/x.yaml'",
  ]);
  const cycle = problemsOf(ROOT('[a.yaml]'), { 'infra/a.yaml': `include: [m.yaml]\n${team('x')}` });
  assert.match(
    cycle.join('\n'),
    /^infra\/a\.yaml:1:11: include\[0\]: infra\/m\.yaml is included more than once \(or includes itself\)$/m,
  );
  const yamlError = problemsOf(ROOT('[a.yaml]'), { 'infra/a.yaml': 'notebooks: [unclosed\n' });
  assert.match(yamlError.join('\n'), /^infra\/a\.yaml:\d+:\d+: /m);
  const foreign = problemsOf(ROOT('[a.yaml]'), { 'infra/a.yaml': `project: other\n${team('x')}` });
  assert.match(
    foreign.join('\n'),
    /^infra\/a\.yaml:1:\d+: project: unknown field "project" \(known: notebooks, include\)$/m,
  );
  assert.throws(
    () => parseManifest(ROOT('[a.yaml]'), 'm.yaml'),
    /include\[0\]: include: needs the manifest to be read from a file/,
  );
});
