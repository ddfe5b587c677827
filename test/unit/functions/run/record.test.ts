/** The run record: status mapping, cell counts, error part, rejected records, result text. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NbtError, type ErrorCode } from '../../../../functions/errors.js';
import type { CellRun, CellStatus } from '../../../../functions/jupyter/executor.js';
import {
  countCells,
  describeResult,
  recordError,
  rejectedRecord,
  statusFor,
  type CellCounts,
} from '../../../../functions/run/record.js';

describe('statusFor', () => {
  const cases: [ErrorCode | undefined, string][] = [
    [undefined, 'succeeded'],
    ['CELL_ERROR', 'failed'],
    ['TIMEOUT', 'timed_out'],
    ['KERNEL_DIED', 'error'],
    ['BAD_MESSAGE', 'error'],
    ['SERVER_UNREACHABLE', 'error'],
    ['CANCELLED', 'error'],
    ['INTERNAL', 'error'],
  ];
  for (const [code, want] of cases) {
    it(`${code ?? 'no error'} → ${want}`, () => assert.equal(statusFor(code && new NbtError(code, 'x')), want));
  }
});

const run = (index: number, status: CellStatus, started = true): CellRun => ({
  index,
  status,
  executionCount: null,
  allowError: false,
  ...(started ? { startedAt: 1 } : {}),
});
const counts = (
  total: number,
  executed: number,
  succeeded: number,
  failed: number,
  aborted: number,
  skipped: number,
): CellCounts => ({ total, executed, succeeded, failed, aborted, skipped });

describe('countCells', () => {
  const cases: [string, number, CellRun[] | undefined, number, CellCounts][] = [
    ['all ok', 3, [run(0, 'ok'), run(1, 'ok'), run(2, 'ok')], 3, counts(3, 3, 3, 0, 0, 0)],
    ['markdown and empty cells skipped', 5, [run(1, 'ok'), run(3, 'ok')], 2, counts(5, 2, 2, 0, 0, 3)],
    [
      'error in cell 2 of 5, rest aborted',
      5,
      [run(0, 'ok'), run(1, 'ok'), run(2, 'error'), run(3, 'aborted', false), run(4, 'aborted', false)],
      5,
      counts(5, 3, 2, 1, 2, 0),
    ],
    [
      'error before the cell started (kernel died) is aborted',
      2,
      [run(0, 'ok'), run(1, 'error', false)],
      2,
      counts(2, 1, 1, 0, 1, 0),
    ],
    [
      'timed out cell is executed and failed',
      3,
      [run(0, 'ok'), run(1, 'timed_out'), run(2, 'aborted', false)],
      3,
      counts(3, 2, 1, 1, 1, 0),
    ],
    ['skip-execution tag counts as skipped', 4, [run(0, 'skipped', false), run(1, 'ok')], 2, counts(4, 1, 1, 0, 0, 3)],
    ['never ran: every planned cell aborted', 6, undefined, 4, counts(6, 0, 0, 0, 4, 2)],
    ['ended before every cell was queued', 4, [run(0, 'ok')], 3, counts(4, 1, 1, 0, 2, 1)],
    ['notebook never parsed', 0, undefined, 0, counts(0, 0, 0, 0, 0, 0)],
    [
      'a raises-exception cell that raised counts as succeeded',
      2,
      [{ ...run(0, 'error'), allowError: true }, run(1, 'ok')],
      2,
      counts(2, 2, 2, 0, 0, 0),
    ],
  ];
  for (const [name, total, runs, planned, want] of cases) {
    it(name, () => {
      const c = countCells(total, runs, planned);
      assert.deepEqual(c, want);
      assert.equal(c.executed + c.aborted + c.skipped, c.total, 'total = executed + aborted + skipped');
      assert.equal(c.succeeded + c.failed, c.executed, 'executed = succeeded + failed');
    });
  }
});

describe('recordError', () => {
  it('keeps the cell facts', () => {
    const e = new NbtError('CELL_ERROR', 'cell 2 raised ValueError', {
      details: { cellIndex: 2, ename: 'ValueError', evalue: 'bad', traceback: ['a', 'b'], status: 500, field: 'x' },
    });
    assert.deepEqual(recordError(e), {
      code: 'CELL_ERROR',
      message: 'cell 2 raised ValueError',
      retryable: false,
      cellIndex: 2,
      ename: 'ValueError',
      evalue: 'bad',
      traceback: ['a', 'b'],
    });
  });
  it('drops details of the wrong type and leaves absent ones out', () => {
    const e = new NbtError('KERNEL_DIED', 'gone', { details: { cellIndex: '2', ename: 3, traceback: 'tb' } as never });
    const r = recordError(e);
    assert.deepEqual(r, { code: 'KERNEL_DIED', message: 'gone', retryable: true });
    assert.deepEqual(Object.keys(r), ['code', 'message', 'retryable']);
  });
  it('keeps cellIndex 0', () =>
    assert.equal(recordError(new NbtError('CELL_ERROR', 'x', { details: { cellIndex: 0 } })).cellIndex, 0));
});

describe('rejectedRecord', () => {
  it('describes a request that never reached a server', () => {
    const started = Date.UTC(2024, 0, 2, 3, 4, 5, 6);
    const e = new NbtError('BAD_MESSAGE', 'message data is empty', { details: { field: 'data' } });
    const r = rejectedRecord(e, started, started + 42);
    assert.deepEqual(r, {
      status: 'error',
      notebook: null,
      server: null,
      kernelName: null,
      startedAt: '2024-01-02T03:04:05.006Z',
      durationMs: 42,
      cells: counts(0, 0, 0, 0, 0, 0),
      error: { code: 'BAD_MESSAGE', message: 'message data is empty', retryable: false },
      warnings: [],
    });
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(r)));
  });
});

describe('describeResult', () => {
  const cases: [string, Parameters<typeof describeResult>[0], string | undefined][] = [
    ['no result', undefined, undefined],
    ['text/plain string', { 'text/plain': '15' }, '15'],
    ['text/plain list', { 'text/plain': ['1\n', '2'] }, '1\n2'],
    ['text/plain beside others', { 'text/html': '<b>x</b>', 'text/plain': 'x' }, 'x'],
    ['no text/plain', { 'image/png': 'iVBOR', 'text/html': '<p/>' }, '<image/png, text/html>'],
    ['empty text/plain', { 'text/plain': '' }, ''],
  ];
  for (const [name, bundle, want] of cases) it(name, () => assert.equal(describeResult(bundle), want));
});
