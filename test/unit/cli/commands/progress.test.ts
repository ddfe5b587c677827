/** What a person sees: the TTY progress bar (done/total, current cell, elapsed), plain lines on a pipe, the summary. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Progress, summary } from '../../../../cli/commands/progress.js';
import type { RunRecord } from '../../../../functions/run/record.js';

function sink(isTTY: boolean): NodeJS.WritableStream & { isTTY: boolean; columns: number; text: () => string } {
  let text = '';
  return {
    isTTY,
    columns: 80,
    write: (s: string) => {
      text += s;
      return true;
    },
    text: () => text,
  } as never;
}

describe('Progress', () => {
  it('draws a bar on a TTY: done/total, the current cell, elapsed; clears it at the end', () => {
    let now = 1000;
    const out = sink(true);
    const p = new Progress({ out, now: () => now });
    p.plan(4);
    p.update({ type: 'start', cellIndex: 2, position: 1, total: 4 });
    now += 1500;
    p.update({ type: 'done', cellIndex: 2, position: 1, total: 4 });
    p.update({ type: 'start', cellIndex: 5, position: 2, total: 4 });
    const last = out.text().split('\r').at(-1)!;
    assert.match(last, /██████░{18} 1\/4 {2}cell 5 {2}1\.5 s/);
    p.end();
    assert.ok(out.text().endsWith('\r\x1b[2K'), 'the bar is cleared');
  });

  it('prints plain lines on a pipe, no escape codes', () => {
    const out = sink(false);
    const p = new Progress({ out, now: () => 0 });
    p.plan(2);
    p.update({ type: 'done', cellIndex: 1, position: 1, total: 2 });
    p.end();
    assert.equal(out.text(), 'running 2 code cells\n[1/2] cell 1 done (0.0 s)\n');
  });
});

describe('summary', () => {
  const base: RunRecord = {
    status: 'succeeded',
    notebook: 'nb.ipynb',
    server: 'http://h:1',
    kernelName: 'python3',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1234,
    cells: { total: 3, executed: 2, succeeded: 2, failed: 0, aborted: 0, skipped: 1 },
    warnings: [],
  };
  it('a success: one line', () =>
    assert.equal(summary(base, false), '✓ nb.ipynb succeeded in 1.23 s (2 cells run, 1 skipped)\n'));
  it('a failure: where, why, the traceback without colour on a pipe, what did not run', () => {
    const failed: RunRecord = {
      ...base,
      status: 'failed',
      cells: { ...base.cells, aborted: 1 },
      error: {
        code: 'CELL_ERROR',
        message: 'cell 1 raised ValueError: boom',
        retryable: false,
        cellIndex: 1,
        traceback: ['\x1b[0;31mValueError\x1b[0m: boom'],
      },
    };
    assert.equal(
      summary(failed, false),
      '✗ nb.ipynb failed at cell 1 after 1.23 s: cell 1 raised ValueError: boom\nValueError: boom\n1 cell not run\n',
    );
  });
});
