/**
 * Unit: the executed notebook built from a notebook, cell runs, outputs and run facts (pure): a run
 * that succeeded, the notebook format, and the helpers. A run that failed is in
 * executed-failed.test.ts; nbformat validation of built notebooks is in
 * test/integration/functions/notebook/executed-valid.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ICodeCell } from '@jupyterlab/nbformat';
import {
  buildExecutedNotebook,
  papermillTime,
  publicServer,
  upgradeToNbformat45,
} from '../../../../functions/notebook/executed.js';
import { ERROR_MARKER_TAG } from '../../../../functions/notebook/error-markers.js';
import { counterIds, facts, notebook, OUTS, pm, run, store, T0 } from './executed-fixtures.js';

describe('buildExecutedNotebook: a run that succeeded', () => {
  const runs = [run(1, 'ok', 1, 0), run(2, 'error', 2, 1000, true), run(3, 'skipped', null)];
  const input = notebook();
  input.cells.splice(5, 2); // no failing cells: md, ok, allow, skip, empty, md
  const before = structuredClone(input);
  const out = buildExecutedNotebook(input, runs, OUTS, facts());

  test('outputs and execution counts of run cells; others cleared; input untouched', () => {
    const code = out.cells.filter((c): c is ICodeCell => c.cell_type === 'code');
    assert.deepEqual(
      code.map((c) => [c.id, c.execution_count, c.outputs.length]),
      [
        ['ok1', 1, 1],
        ['allow2', 2, 1],
        ['skip3', null, 0],
        ['empty4', null, 0],
      ],
    );
    assert.deepEqual((out.cells[1] as ICodeCell).outputs, [{ output_type: 'stream', name: 'stdout', text: 'hi\n' }]);
    assert.deepEqual(input, before);
    ((out.cells[1] as ICodeCell).outputs[0] as { text: string }).text = 'changed';
    assert.equal((OUTS.outputs(1)[0] as { text: string }).text, 'hi\n', 'outputs are copies');
  });

  test('per-cell metadata.papermill as papermill writes it', () => {
    assert.deepEqual(pm(out.cells[1]), {
      exception: false,
      start_time: '2024-01-05T10:11:12.345000',
      end_time: '2024-01-05T10:11:12.595000',
      duration: 0.25,
      status: 'completed',
    });
    assert.deepEqual(
      pm(out.cells[2]),
      {
        exception: false,
        start_time: '2024-01-05T10:11:13.345000',
        end_time: '2024-01-05T10:11:13.595000',
        duration: 0.25,
        status: 'completed',
      },
      'raises-exception: completed, as nbclient does not raise',
    );
    for (const i of [0, 3, 4, 5])
      assert.deepEqual(
        pm(out.cells[i]),
        { exception: false, start_time: null, end_time: null, duration: null, status: 'completed' },
        `cell ${i}`,
      );
  });

  test('notebook metadata: papermill fields and nbtrigger run facts, no credentials', () => {
    const md = out.metadata as Record<string, Record<string, unknown>>;
    assert.deepEqual(md.papermill, {
      parameters: { a: 1, f: 1 },
      default_parameters: {},
      environment_variables: {},
      input_path: 'dir/nb.ipynb',
      output_path: 'runs/nb/x.ipynb',
      start_time: '2024-01-05T10:11:11.345000',
      end_time: '2024-01-05T10:11:17.345000',
      duration: 6,
      exception: null,
    });
    assert.deepEqual(md.nbtrigger, {
      runId: 'run-1',
      notebook: 'dir/nb.ipynb',
      output: 'runs/nb/x.ipynb',
      parameters: { a: 1, f: 1 },
      server: 'http://127.0.0.1:8888',
      kernel: { name: 'python3', language: 'python' },
      status: 'succeeded',
      startedAt: '2024-01-05T10:11:11.345Z',
      endedAt: '2024-01-05T10:11:17.345Z',
      durationMs: 6000,
      warnings: ['w1'],
    });
    assert.deepEqual(md.language_info, { name: 'python', version: '3.11.2' });
    assert.ok(!JSON.stringify(out).includes('SECRET') && !JSON.stringify(out).includes('pw@'));
    assert.equal(
      out.cells.some((c) => c.metadata.tags !== undefined && (c.metadata.tags as string[]).includes(ERROR_MARKER_TAG)),
      false,
    );
  });
});

describe('buildExecutedNotebook: format', () => {
  test('truncated cells say so in cell and notebook metadata', () => {
    const out = buildExecutedNotebook(
      notebook(),
      [run(1, 'ok', 1, 0), run(2, 'ok', 2, 10)],
      store({ 1: [] }, [1]),
      facts({ truncatedCells: [2] }),
    );
    assert.deepEqual(
      out.cells
        .filter((c) => (c.metadata.nbtrigger as { outputTruncated?: boolean } | undefined)?.outputTruncated)
        .map((c) => c.id),
      ['ok1', 'allow2'],
    );
    assert.deepEqual((out.metadata as Record<string, Record<string, unknown>>).nbtrigger!.truncatedCellIds, [
      'ok1',
      'allow2',
    ]);
  });

  test('nbformat 4.4 becomes 4.5 with ids; keys nbformat does not allow are dropped; kernelspec filled in', () => {
    const input = notebook();
    input.nbformat_minor = 4;
    input.metadata = {};
    for (const c of input.cells) delete c.id;
    (input.cells[1] as unknown as Record<string, unknown>).junk = 1;
    (input as unknown as Record<string, unknown>).extra = 2;
    const out = buildExecutedNotebook(input, [run(1, 'ok', 1, 0)], OUTS, facts(), { newId: counterIds() });
    assert.equal(out.nbformat_minor, 5);
    assert.deepEqual(Object.keys(out).sort(), ['cells', 'metadata', 'nbformat', 'nbformat_minor']);
    assert.deepEqual(
      out.cells.map((c) => c.id),
      ['gen0', 'gen1', 'gen2', 'gen3', 'gen4', 'gen5', 'gen6', 'gen7'],
    );
    assert.deepEqual(Object.keys(out.cells[1]!).sort(), [
      'cell_type',
      'execution_count',
      'id',
      'metadata',
      'outputs',
      'source',
    ]);
    assert.deepEqual(out.metadata.kernelspec, { name: 'python3', display_name: 'python3', language: 'python' });
    assert.equal(out.metadata.orig_nbformat_minor, 4);
  });
});

describe('helpers', () => {
  const times: Array<[number, string]> = [
    [T0, '2024-01-05T10:11:12.345000'],
    [Date.UTC(2024, 0, 5), '2024-01-05T00:00:00'],
    [Date.UTC(2024, 0, 5, 0, 0, 0, 1), '2024-01-05T00:00:00.001000'],
  ];
  for (const [ms, want] of times) test(`papermillTime ${want}`, () => assert.equal(papermillTime(ms), want));

  const servers: Array<[string | null, string | null]> = [
    ['http://127.0.0.1:8888', 'http://127.0.0.1:8888'],
    ['https://u:p@h.example/base/?token=t#f', 'https://h.example/base/'],
    ['http://h:80/', 'http://h'],
    ['not a url', null],
    [null, null],
  ];
  for (const [s, want] of servers) test(`publicServer ${s}`, () => assert.equal(publicServer(s), want));

  test('upgradeToNbformat45 at 4.5 keeps valid ids and repairs missing, malformed and duplicate ones', () => {
    const nb = notebook();
    nb.cells[1]!.id = 'md0';
    nb.cells[2]!.id = 'bad id!';
    delete nb.cells[3]!.id;
    nb.cells[4]!.id = 'x'.repeat(65);
    upgradeToNbformat45(nb, counterIds());
    assert.deepEqual(
      nb.cells.map((c) => c.id),
      ['md0', 'gen0', 'gen1', 'gen2', 'gen3', 'err5', 'after6', 'md7'],
    );
    assert.equal(nb.metadata.orig_nbformat_minor, undefined);
  });
});
