/**
 * Fixtures for the executed-notebook tests (functions/notebook/executed.ts): a notebook with one
 * cell of each kind (run, allowed error, skipped, empty, failing, after the failure), its outputs,
 * cell runs, run facts, and readers of the papermill metadata the builder writes.
 */
import assert from 'node:assert/strict';
import type { ICell, ICodeCell, IOutput } from '@jupyterlab/nbformat';
import type { CellRun } from '../../../../functions/jupyter/executor.js';
import type { ExecutedFacts, OutputSource } from '../../../../functions/notebook/executed.js';
import type { Notebook } from '../../../../functions/notebook/model.js';
import { JsonNumber } from '../../../../functions/notebook/translators/values.js';

export const T0 = Date.UTC(2024, 0, 5, 10, 11, 12, 345);
const STALE: IOutput[] = [{ output_type: 'stream', name: 'stdout', text: 'stale from an earlier run\n' }];

/** md, ok, raises-exception error, skip-execution, empty, error, after, md. */
export function notebook(): Notebook {
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

export const ERR = {
  output_type: 'error',
  ename: 'ValueError',
  evalue: 'boom',
  traceback: ['Traceback', 'ValueError: boom'],
} as IOutput;
export function store(map: Record<number, IOutput[]>, truncated: number[] = []): OutputSource {
  return { outputs: (i) => map[i] ?? [], truncated: (i) => truncated.includes(i) };
}
export const OUTS = store({
  1: [{ output_type: 'stream', name: 'stdout', text: 'hi\n' }],
  2: [{ output_type: 'error', ename: 'KeyError', evalue: '1', traceback: [] }],
  5: [ERR],
});
export const run = (
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

export function facts(extra: Partial<ExecutedFacts> = {}): ExecutedFacts {
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
export const pm = (c: ICell | undefined): Record<string, unknown> => {
  const papermill = (c?.metadata as Record<string, Record<string, unknown>> | undefined)?.papermill;
  assert.ok(papermill, 'the cell has papermill metadata');
  return papermill;
};

/** Cell ids gen0, gen1, … in the order they are drawn. */
export function counterIds(): () => string {
  let n = 0;
  return () => `gen${n++}`;
}
