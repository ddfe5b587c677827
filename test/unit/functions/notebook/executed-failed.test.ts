/**
 * Unit: the executed notebook of a run that failed (pure): the failing cell keeps its error, later
 * cells are pending, and papermill's error markers point at the cell (or say why the run stopped).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ICodeCell } from '@jupyterlab/nbformat';
import { ERROR_MARKER_TAG } from '../../../../functions/notebook/error-markers.js';
import { buildExecutedNotebook } from '../../../../functions/notebook/executed.js';
import { counterIds, ERR, facts, notebook, OUTS, pm, run, store } from './executed-fixtures.js';

describe('buildExecutedNotebook: a run that failed', () => {
  const runs = [
    run(1, 'ok', 1, 0),
    run(2, 'error', 2, 1000, true),
    run(3, 'skipped', null),
    run(5, 'error', 3, 2000),
    run(6, 'aborted', null),
  ];
  const error = { code: 'CELL_ERROR', message: 'cell 5 raised ValueError: boom', cellIndex: 5 };

  test('the failing cell keeps its error; later cells untouched and pending; papermill markers point at it', () => {
    const out = buildExecutedNotebook(notebook(), runs, OUTS, facts({ status: 'failed', error }), {
      newId: counterIds(),
    });
    assert.deepEqual(
      out.cells.map((c) => c.id),
      ['gen1', 'md0', 'ok1', 'allow2', 'skip3', 'empty4', 'gen0', 'err5', 'after6', 'md7'],
    );
    const failing = out.cells[7] as ICodeCell;
    assert.deepEqual(failing.outputs, [ERR]);
    assert.equal(failing.execution_count, 3);
    assert.deepEqual(pm(failing), {
      exception: true,
      start_time: '2024-01-05T10:11:14.345000',
      end_time: '2024-01-05T10:11:14.595000',
      duration: 0.25,
      status: 'failed',
    });
    const after = out.cells[8] as ICodeCell;
    assert.deepEqual([after.outputs, after.execution_count], [[], null], 'stale outputs of a cell not run are cleared');
    assert.deepEqual(pm(after), {
      exception: null,
      start_time: null,
      end_time: null,
      duration: null,
      status: 'pending',
    });
    assert.equal(pm(out.cells[9]).status, 'pending');
    assert.equal(pm(out.cells[5]).status, 'completed', 'an empty cell before the failure');
    const top = out.cells[0]!;
    const anchor = out.cells[6]!;
    assert.equal(
      top.source,
      '<span style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;">' +
        `An Exception was encountered at '<a href="#papermill-error-cell">In [3]</a>'.</span>`,
    );
    assert.match(
      String(anchor.source),
      new RegExp(
        /^<span id="papermill-error-cell" .*>/.source +
          /Execution using nbtrigger encountered an exception here and stopped:<\/span>$/.source,
      ),
    );
    for (const m of [top, anchor])
      assert.deepEqual([m.cell_type, m.metadata], ['markdown', { tags: [ERROR_MARKER_TAG] }]);
    const md = out.metadata as Record<string, Record<string, unknown>>;
    assert.equal(md.papermill!.exception, true);
    assert.deepEqual(md.nbtrigger!.error, {
      code: 'CELL_ERROR',
      message: 'cell 5 raised ValueError: boom',
      cellIndex: 5,
      cellId: 'err5',
      executionCount: 3,
    });
    assert.equal(md.nbtrigger!.status, 'failed');
  });

  test('without facts.error the failing cell is found from the runs; errorMarkers: false adds none', () => {
    const out = buildExecutedNotebook(notebook(), runs, OUTS, facts({ status: 'failed' }), { errorMarkers: false });
    assert.equal(out.cells.length, 8);
    assert.deepEqual(
      out.cells.map((c) => pm(c).status),
      ['completed', 'completed', 'completed', 'completed', 'completed', 'failed', 'pending', 'pending'],
    );
  });

  test('markers of an earlier run are dropped before new ones are added', () => {
    const input = notebook();
    input.cells.splice(2, 0, {
      id: 'old',
      cell_type: 'markdown',
      metadata: { tags: [ERROR_MARKER_TAG] },
      source: 'old marker',
    });
    const shifted = runs.map((r) => ({ ...r, index: r.index >= 2 ? r.index + 1 : r.index }));
    const outs = store({ 1: OUTS.outputs(1), 3: OUTS.outputs(2), 6: [ERR] });
    const out = buildExecutedNotebook(
      input,
      shifted,
      outs,
      facts({ status: 'failed', error: { ...error, cellIndex: 6 } }),
    );
    assert.equal(out.cells.filter((c) => String(c.source).includes('old marker')).length, 0);
    assert.equal(
      out.cells.filter((c) => (c.metadata.tags as string[] | undefined)?.includes(ERROR_MARKER_TAG)).length,
      2,
    );
    assert.deepEqual((out.cells.find((c) => c.id === 'err5') as ICodeCell).outputs, [ERR]);
  });

  test('a timeout: the cell is failed and the marker says why, HTML-escaped', () => {
    const timed = [run(1, 'ok', 1, 0), run(5, 'timed_out', 2, 2000)];
    const msg = 'cell 5 exceeded its 1.0 s timeout <script>';
    const out = buildExecutedNotebook(
      notebook(),
      timed,
      OUTS,
      facts({ status: 'timed_out', error: { code: 'TIMEOUT', message: msg, cellIndex: 5 } }),
    );
    assert.match(
      String(out.cells[0]!.source),
      /Execution stopped \(TIMEOUT\) at '<a href="#papermill-error-cell">In \[2\]<\/a>'/,
    );
    const anchor = out.cells.find((c) => String(c.source).includes('papermill-error-cell" '))!;
    assert.match(String(anchor.source), /stopped here: cell 5 exceeded its 1\.0 s timeout &#60;script&#62;<\/span>$/);
    assert.equal(pm(out.cells.find((c) => c.id === 'err5')).status, 'failed');
  });

  test('a run that never reached a cell: every cell pending, no markers, no outputs', () => {
    const out = buildExecutedNotebook(
      notebook(),
      [],
      OUTS,
      facts({ status: 'error', error: { code: 'NO_SUCH_KERNEL', message: 'no kernel' } }),
    );
    assert.equal(out.cells.length, 8);
    assert.ok(out.cells.every((c) => pm(c).status === 'pending'));
    assert.ok(
      out.cells.every(
        (c) => c.cell_type !== 'code' || ((c as ICodeCell).outputs.length === 0 && c.execution_count === null),
      ),
    );
    assert.equal((out.metadata as Record<string, Record<string, unknown>>).papermill!.exception, null);
  });
});
