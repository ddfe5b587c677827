import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, escapeHtml, stripAnsi } from '../../../../functions/report/escape.js';
import {
  formatRunsTable,
  isRunRecord,
  matchesHistoryQuery,
  printable,
  selectRuns,
  toRow,
} from '../../../../functions/report/history.js';
import { run, sampleRuns } from './fixtures.js';

describe('history listing', () => {
  it('orders newest first, ties by runId, and applies filters and limit', () => {
    const runs = sampleRuns();
    const all = selectRuns(runs, {});
    assert.equal(all.length, runs.length);
    for (let i = 1; i < all.length; i++) assert.ok(Date.parse(all[i - 1]!.startedAt) >= Date.parse(all[i]!.startedAt));
    assert.equal(all[0]!.runId, 'daily-7');
    const tie = selectRuns(
      [run({ runId: 'a', startedAt: '2026-01-01T00:00:00Z' }), run({ runId: 'b', startedAt: '2026-01-01T00:00:00Z' })],
      {},
    );
    assert.deepEqual(
      tie.map((r) => r.runId),
      ['b', 'a'],
    );
    assert.deepEqual(
      selectRuns(runs, { status: 'failed', notebook: 'daily' }).map((r) => r.runId),
      ['daily-6', 'daily-3'],
    );
    assert.deepEqual(
      selectRuns(runs, { notebook: 'etl/load.ipynb', limit: 2 }).map((r) => r.runId),
      ['etl-2', 'etl-1'],
    );
    assert.equal(selectRuns(runs, { notebook: 'load' }).length, 3);
    assert.equal(selectRuns(runs, { notebook: 'other/load' }).length, 0);
    assert.equal(
      matchesHistoryQuery(run({ startedAt: '2026-01-01T00:00:00Z', notebook: null }), { notebook: 'x' }),
      false,
    );
  });

  it('turns a record into a row', () => {
    const failed = sampleRuns().find((r) => r.runId === 'daily-3')!;
    assert.deepEqual(toRow(failed), {
      when: failed.startedAt,
      notebook: 'reports/daily.ipynb',
      status: 'failed',
      durationMs: failed.durationMs,
      runId: 'daily-3',
      failingCell: 2,
      failure: 'ZeroDivisionError: division by zero',
      output: '/srv/runs/daily/daily-3.ipynb',
    });
    const infra = toRow(sampleRuns().find((r) => r.runId === 'etl-2')!);
    assert.equal(infra.failure, 'SERVER_UNREACHABLE: cannot reach http://x');
    assert.equal(infra.failingCell, undefined);
  });

  it('prints an aligned table without control characters', () => {
    const rows = selectRuns(sampleRuns(), { limit: 3 }).map((r) => toRow(r));
    rows[1]!.failure = 'Bad\u001b[31mRED\u001b[0m\nline';
    const text = formatRunsTable(rows);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0]!, /^WHEN\s+NOTEBOOK\s+STATUS\s+DURATION\s+CELL\s+FAILURE\s+OUTPUT$/);
    assert.match(
      lines[1]!,
      new RegExp(
        /^2026-01-21 21:00:00Z {2}reports\/daily\.ipynb {16}succeeded {2}/.source +
          /6\.4 s {5}- {5}- +\/srv\/runs\/daily\/daily-7\.ipynb$/.source,
      ),
    );
    assert.match(
      lines[2]!,
      new RegExp(
        /^2026-01-21 18:00:00Z {2}x\/<script>alert\(1\)<\/script>\.ipynb {2}/.source +
          /failed +1\.2 s +0 +BadRED line +javascript:alert\(3\)$/.source,
      ),
    );
    assert.doesNotMatch(text, /\u001b/);
    assert.match(text, /BadRED line/);
    assert.equal(formatRunsTable([]), 'no runs found\n');
  });

  it('recognises run records', () => {
    assert.equal(isRunRecord(sampleRuns()[0]), true);
    for (const bad of [
      null,
      [],
      {},
      { status: 'ok', startedAt: '2026-01-01T00:00:00Z', durationMs: 1, notebook: 'x', cells: {} },
      { status: 'failed', startedAt: 'yesterday', durationMs: 1, notebook: 'x', cells: {} },
      { cells: [], metadata: {}, nbformat: 4 },
    ]) {
      assert.equal(isRunRecord(bad), false, JSON.stringify(bad));
    }
  });

  it('formats and escapes text', () => {
    assert.deepEqual([850, 12_345, 245_000, 7_380_000, -1].map(formatDuration), [
      '850 ms',
      '12.3 s',
      '4 min 05 s',
      '2 h 03 min',
      '–',
    ]);
    assert.equal(
      escapeHtml(`<a href="x" onclick='y'>&</a>`),
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
    assert.equal(stripAnsi('\u001b[0;31mZeroDivisionError\u001b[0m'), 'ZeroDivisionError');
    assert.equal(printable('x'.repeat(100), 10), `${'x'.repeat(9)}…`);
  });
});
