/**
 * Pure run-history rules: record naming, query normalisation and matching, ordering, the
 * Firestore size cap, and that infra/firestore.indexes.json holds every composite index a
 * Firestore query needs (the emulator never asks for indexes; production does).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../../../cli/project-root.js';
import {
  assertRunId,
  compareNewestFirst,
  matchesQuery,
  normalizeQuery,
  notebookFolder,
  notebookName,
  notebookPath,
  parseRecordFileName,
  parseStamp,
  runStem,
  stampOf,
} from '../../../../functions/store/runs-store.js';
import { fitRun, requiredIndex, type IndexSpec } from '../../../../functions/store/runs-firestore.js';
import type { RunStatus } from '../../../../functions/run/record.js';
import { sampleRun } from './fixtures.js';

test('stamps are file-name safe, sortable and round-trip', () => {
  const s = stampOf('2026-01-21T23:49:30.123Z');
  assert.equal(s, '2026-01-21T23-49-30.123Z');
  assert.equal(s.length, 24);
  assert.equal(parseStamp(s), '2026-01-21T23:49:30.123Z');
  assert.equal(parseStamp('2026-01-21T23:49:30.123Z'), undefined);
  assert.ok(stampOf('2026-01-02T00:00:00Z') > stampOf('2026-01-01T23:59:59.999Z'));
  assert.throws(() => stampOf('yesterday'), TypeError);
});

test('record file names parse back to startedAt and runId (runIds with dashes too)', () => {
  const stem = runStem('2026-01-21T23:49:30.123Z', 'a-b-c');
  assert.equal(stem, '2026-01-21T23-49-30.123Z-a-b-c');
  assert.deepEqual(parseRecordFileName(`${stem}.json`), { startedAt: '2026-01-21T23:49:30.123Z', runId: 'a-b-c' });
  assert.equal(parseRecordFileName(`${stem}.ipynb`), undefined);
  assert.equal(parseRecordFileName('notes.json'), undefined);
  assert.equal(parseRecordFileName('2026-01-21T23-49-30.123Z_x.json'), undefined);
});

test('runIds are checked (no path tricks)', () => {
  for (const bad of ['', '../x', 'a/b', '.hidden', 'a..b', 'x'.repeat(129), 5])
    assert.throws(() => assertRunId(bad), TypeError, String(bad));
  assert.doesNotThrow(() => assertRunId('01HQZ-x_y.z'));
});

test('notebook names, paths and folders', () => {
  assert.equal(notebookPath('/reports/daily.ipynb'), 'reports/daily');
  assert.equal(notebookName('/reports/daily.ipynb'), 'daily');
  assert.equal(notebookName('daily'), 'daily');
  assert.equal(notebookFolder('/a/we ird$name.ipynb'), 'we_ird_name');
  assert.equal(notebookFolder('/a/..ipynb'), '_unknown');
  assert.equal(notebookFolder(null), '_unknown');
});

test('normalizeQuery: name vs path, statuses, bounds, limit', () => {
  assert.deepEqual(normalizeQuery({ notebook: 'daily' }).notebook, { field: 'notebookName', value: 'daily' });
  assert.deepEqual(normalizeQuery({ notebook: 'daily.ipynb' }).notebook, { field: 'notebookName', value: 'daily' });
  assert.deepEqual(normalizeQuery({ notebook: '/reports/daily.ipynb' }).notebook, {
    field: 'notebookPath',
    value: 'reports/daily',
  });
  assert.deepEqual(normalizeQuery({ status: 'failed' }).statuses, ['failed']);
  assert.deepEqual(normalizeQuery({ status: ['failed', 'failed', 'error'] }).statuses, ['failed', 'error']);
  assert.equal(normalizeQuery({ since: new Date(0) }).since, '1970-01-01T00:00:00.000Z');
  assert.equal(normalizeQuery().limit, 50);
  assert.equal(normalizeQuery({ limit: 5000 }).limit, 1000);
  assert.throws(() => normalizeQuery({ limit: 0 }), TypeError);
  assert.throws(() => normalizeQuery({ since: 'nope' }), TypeError);
  assert.throws(() => normalizeQuery({ status: [] }), TypeError);
});

test('matchesQuery applies every filter', () => {
  const r = sampleRun();
  assert.ok(matchesQuery(r, normalizeQuery({})));
  assert.ok(matchesQuery(r, normalizeQuery({ notebook: 'daily', status: ['succeeded', 'failed'] })));
  assert.ok(matchesQuery(r, normalizeQuery({ notebook: 'reports/daily.ipynb' })));
  assert.ok(!matchesQuery(r, normalizeQuery({ notebook: 'other/daily' })));
  assert.ok(!matchesQuery(r, normalizeQuery({ status: 'failed' })));
  assert.ok(
    matchesQuery(r, normalizeQuery({ since: r.startedAt, until: '2026-01-22T00:00:00Z' })),
    'since is inclusive',
  );
  assert.ok(!matchesQuery(r, normalizeQuery({ until: r.startedAt })), 'until is exclusive');
  assert.ok(!matchesQuery(sampleRun({ notebook: null }), normalizeQuery({ notebook: 'daily' })));
});

test('compareNewestFirst: time desc, then runId desc', () => {
  const rows = [
    { startedAt: '2026-01-01T00:00:00.000Z', runId: 'a' },
    { startedAt: '2026-01-02T00:00:00.000Z', runId: 'a' },
    { startedAt: '2026-01-01T00:00:00.000Z', runId: 'b' },
  ];
  assert.deepEqual(
    rows.sort(compareNewestFirst).map((r) => `${r.startedAt.slice(8, 10)}${r.runId}`),
    ['02a', '01b', '01a'],
  );
});

test('fitRun drops lastResult, then the traceback, to fit Firestore', () => {
  const small = sampleRun();
  assert.equal(fitRun(small).run, small);
  const big = sampleRun({
    lastResult: { 'image/png': 'x'.repeat(2000) },
    error: { code: 'CELL_ERROR', message: 'boom', retryable: false, traceback: ['t'.repeat(2000)] },
  });
  const one = fitRun(big, 3000);
  assert.equal(one.run.lastResult, undefined);
  assert.deepEqual(one.run.error?.traceback, big.error?.traceback);
  assert.match(one.run.warnings.join(), /lastResult dropped/);
  const two = fitRun(big, 1500);
  assert.equal(two.run.error?.traceback, undefined);
  assert.equal(two.run.error?.message, 'boom');
  assert.ok(Buffer.byteLength(two.json) <= 1500);
  assert.throws(() => fitRun(sampleRun({ parameters: { p: 'y'.repeat(5000) } }), 1500), RangeError);
});

test('infra/firestore.indexes.json holds every composite index the run queries need', () => {
  const file = JSON.parse(readFileSync(join(PROJECT_ROOT, 'infra', 'firestore.indexes.json'), 'utf8')) as {
    indexes: IndexSpec[];
  };
  const have = new Set(file.indexes.map((i) => JSON.stringify(i)));
  const statuses: (RunStatus[] | undefined)[] = [undefined, ['failed'], ['failed', 'error']];
  let needed = 0;
  for (const notebook of [undefined, 'daily', '/reports/daily.ipynb']) {
    for (const status of statuses) {
      for (const since of [undefined, '2026-01-01T00:00:00Z']) {
        const idx = requiredIndex(normalizeQuery({ notebook, status, since }));
        if (notebook === undefined && status === undefined) {
          assert.equal(idx, undefined);
          continue;
        }
        assert.ok(idx, 'equality filter + order by startedAt needs a composite index');
        needed++;
        assert.ok(have.has(JSON.stringify(idx)), `missing index ${JSON.stringify(idx)}`);
      }
    }
  }
  assert.equal(needed, 16);
  assert.equal(new Set(file.indexes.map((i) => JSON.stringify(i))).size, 5, 'five distinct composite indexes');
});
