/**
 * infra/manifest-facts.mjs, run for real on the example manifest: what infra/setup.sh reads (project,
 * accounts, buckets, indexes); and infra/firestore.indexes.json against the stores: every query shape
 * the run store makes has its composite index, and the leases' TTL field is the one the lease store writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { requiredIndex } from '../../../functions/store/runs-firestore.js';
import { DEFAULT_LEASES_COLLECTION } from '../../../functions/store/leases-firestore.js';
import { normalizeQuery } from '../../../functions/store/runs-store.js';

function facts(file: string): { status: number | null; lines: string[]; stderr: string } {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'infra/manifest-facts.mjs'), file], { encoding: 'utf8' });
  return { status: r.status, lines: r.stdout.split('\n').filter(Boolean), stderr: r.stderr };
}

test('manifest-facts: the example manifest', () => {
  const r = facts(join(PROJECT_ROOT, 'infra/nbtrigger.yaml'));
  assert.equal(r.status, 0, r.stderr);
  for (const want of [
    'PROJECT=my-project',
    'REGION=europe-west1',
    'TOPIC=t_nbtrigger',
    'TOKEN_SECRET=nbtrigger-jupyter-token',
    'FUNCTION=runNotebook',
    'FUNCTION_SA=nbtrigger-function@my-project.iam.gserviceaccount.com',
    'SERVICE_SAS=nbtrigger-notebook@my-project.iam.gserviceaccount.com',
    'DEFAULT_RUNTIME_SA=0',
    'JOB_SAS=',
    'DEFAULT_JOB_RUNTIME_SA=0',
    'OUTPUT_BUCKETS=my-project-nbtrigger-runs',
    'SOURCE_BUCKETS=',
    'SOURCE_PREFIXES=',
    'TTL=nbtrigger_leases expireAt',
    'NO_INDEX=nbtrigger_runs record',
  ]) {
    assert.ok(r.lines.includes(want), `${want} in\n${r.lines.join('\n')}`);
  }
  assert.equal(r.lines.filter((l) => l.startsWith('INDEX=')).length, 5);
});

/** The facts of the example manifest with its notebook line changed by `edit` (its hello.ipynb beside it). */
function variantFacts(edit: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'nbt-facts-'));
  try {
    const text = readFileSync(join(PROJECT_ROOT, 'infra/nbtrigger.yaml'), 'utf8').replace(
      /^(\s+)file: examples\/hello\.ipynb.*$/m,
      edit,
    );
    assert.notEqual(text, readFileSync(join(PROJECT_ROOT, 'infra/nbtrigger.yaml'), 'utf8'), 'the edit applies');
    writeFileSync(join(dir, 'm.yaml'), text);
    writeFileSync(join(dir, 'hello.ipynb'), readFileSync(join(PROJECT_ROOT, 'examples/hello.ipynb')));
    const r = facts(join(dir, 'm.yaml'));
    assert.equal(r.status, 0, r.stderr);
    return r.lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("manifest-facts: the gs:// folders of source: notebooks, for the function's ALLOWED_SOURCES", () => {
  const lines = variantFacts('$1file: hello.ipynb\n$1source: gs://team-nbs/reports/');
  assert.ok(lines.includes('SOURCE_PREFIXES=gs://team-nbs/reports/'), lines.join('\n'));
  assert.ok(lines.includes('SOURCE_BUCKETS=team-nbs'), lines.join('\n'));
});

test('manifest-facts: the accounts job-mode notebooks run as (their tasks write records and outputs)', () => {
  const lines = variantFacts('$1file: examples/hello.ipynb\n$1execution: job');
  assert.ok(lines.includes('JOB_SAS=nbtrigger-notebook@my-project.iam.gserviceaccount.com'), lines.join('\n'));
  assert.ok(lines.includes('DEFAULT_JOB_RUNTIME_SA=0'), lines.join('\n'));
});

test('manifest-facts: a service without an account runs as the default one; a bad manifest stops setup', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nbt-facts-'));
  try {
    const text = readFileSync(join(PROJECT_ROOT, 'infra/nbtrigger.yaml'), 'utf8').replace(
      /^\s+serviceAccount: nbtrigger-notebook@.*\n/m,
      '',
    );
    writeFileSync(join(dir, 'm.yaml'), text);
    const r = facts(join(dir, 'm.yaml'));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.lines.includes('DEFAULT_RUNTIME_SA=1') && r.lines.includes('SERVICE_SAS='), r.lines.join('\n'));
    writeFileSync(join(dir, 'bad.yaml'), text.replace('project: my-project', 'project: "my project; rm -rf /"'));
    const bad = facts(join(dir, 'bad.yaml'));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /project/);
    assert.equal(facts(join(dir, 'none.yaml')).status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('firestore.indexes.json has the index of every run query shape, and the leases TTL field', () => {
  const spec = JSON.parse(readFileSync(join(PROJECT_ROOT, 'infra/firestore.indexes.json'), 'utf8')) as {
    indexes: unknown[];
    fieldOverrides: Array<{ collectionGroup: string; fieldPath: string; ttl?: boolean }>;
  };
  const have = new Set(spec.indexes.map((ix) => JSON.stringify(ix)));
  const shapes = [
    { status: 'failed' as const },
    { status: ['failed', 'succeeded'] as never },
    { notebook: 'reports/daily.ipynb' },
    { notebook: 'daily' },
    { notebook: 'reports/daily.ipynb', status: 'failed' as const },
    { notebook: 'daily', status: ['failed', 'timeout'] as never },
    { notebook: 'daily', since: '2026-01-01T00:00:00Z', until: '2026-02-01T00:00:00Z' },
  ];
  for (const q of shapes) {
    const ix = requiredIndex(normalizeQuery(q));
    assert.ok(ix && have.has(JSON.stringify(ix)), `no index for ${JSON.stringify(q)}: ${JSON.stringify(ix)}`);
  }
  assert.equal(requiredIndex(normalizeQuery({ since: '2026-01-01T00:00:00Z' })), undefined);
  const ttl = spec.fieldOverrides.filter((o) => o.ttl === true);
  assert.deepEqual(
    ttl.map((o) => [o.collectionGroup, o.fieldPath]),
    [[DEFAULT_LEASES_COLLECTION, 'expireAt']],
  );
  // The lease store writes that field.
  assert.match(
    readFileSync(join(PROJECT_ROOT, 'functions/store/leases-firestore.ts'), 'utf8'),
    /expireAt: Timestamp\.fromMillis/,
  );
});
