/**
 * Unit: the executed notebook built from a notebook, cell runs, outputs and run facts (pure).
 * nbformat validation of built notebooks is in test/integration/functions/notebook/executed-valid.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ICell, ICodeCell, IOutput } from '@jupyterlab/nbformat';
import type { CellRun } from '../../../../functions/jupyter/executor.js';
import {
  buildExecutedNotebook,
  papermillTime,
  publicServer,
  upgradeToNbformat45,
  type ExecutedFacts,
  type OutputSource,
} from '../../../../functions/notebook/executed.js';
import { ERROR_MARKER_TAG } from '../../../../functions/notebook/error-markers.js';
import type { Notebook } from '../../../../functions/notebook/model.js';
import { JsonNumber } from '../../../../functions/notebook/translators/values.js';

const T0 = Date.UTC(2024, 0, 5, 10, 11, 12, 345);
const STALE: IOutput[] = [{ output_type: 'stream', name: 'stdout', text: 'stale from an earlier run\n' }];

/** md, ok, raises-exception error, skip-execution, empty, error, after, md. */
function notebook(): Notebook {
  const code = (id: string, source: string, tags?: string[]): ICodeCell => ({
    id,
    cell_type: 'code',
    metadata: tags ? { tags } : {},
    source,
    execution_count: 7,
    outputs: structuredClone(STALE),
  });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      papermill: { parameters: { a: 1 } },
    },
    cells: [
      { id: 'md0', cell_type: 'markdown', metadata: {}, source: '# Title' },
      code('ok1', 'print("hi")'),
      code('allow2', 'raise KeyError(1)', ['raises-exception']),
      code('skip3', 'x', ['skip-execution']),
      code('empty4', '   '),
      code('err5', 'raise ValueError("boom")'),
      code('after6', 'print("never")'),
      { id: 'md7', cell_type: 'markdown', metadata: {}, source: 'end' },
    ],
  };
}

const ERR = {
  output_type: 'error',
  ename: 'ValueError',
  evalue: 'boom',
  traceback: ['Traceback', 'ValueError: boom'],
} as IOutput;
function store(map: Record<number, IOutput[]>, truncated: number[] = []): OutputSource {
  return { outputs: (i) => map[i] ?? [], truncated: (i) => truncated.includes(i) };
}
const OUTS = store({
  1: [{ output_type: 'stream', name: 'stdout', text: 'hi\n' }],
  2: [{ output_type: 'error', ename: 'KeyError', evalue: '1', traceback: [] }],
  5: [ERR],
});
const run = (
  index: number,
  status: CellRun['status'],
  count: number | null,
  at?: number,
  allowError = false,
): CellRun => ({
  index,
  status,
  executionCount: count,
  allowError,
  ...(at === undefined ? {} : { startedAt: T0 + at, endedAt: T0 + at + 250 }),
});

function facts(extra: Partial<ExecutedFacts> = {}): ExecutedFacts {
  return {
    runId: 'run-1',
    notebook: 'dir/nb.ipynb',
    output: 'runs/nb/x.ipynb',
    parameters: { a: 1, f: new JsonNumber('1.0') },
    server: 'http://user:pw@127.0.0.1:8888/?token=SECRET#x',
    kernelName: 'python3',
    status: 'succeeded',
    startedAt: T0 - 1000,
    endedAt: T0 + 5000,
    languageInfo: { name: 'python', version: '3.11.2' },
    warnings: ['w1'],
    ...extra,
  };
}
const pm = (c: ICell | undefined): Record<string, unknown> => {
  const papermill = (c?.metadata as Record<string, Record<string, unknown>> | undefined)?.papermill;
  assert.ok(papermill, 'the cell has papermill metadata');
  return papermill;
};

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
      `<span style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;">An Exception was encountered at '<a href="#papermill-error-cell">In [3]</a>'.</span>`,
    );
    assert.match(
      String(anchor.source),
      /^<span id="papermill-error-cell" .*>Execution using nbtrigger encountered an exception here and stopped:<\/span>$/,
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

function counterIds(): () => string {
  let n = 0;
  return () => `gen${n++}`;
}
