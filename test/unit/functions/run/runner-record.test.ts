/** The record step alone: built from what the run found, whatever step it reached (no server). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NbtError } from '../../../../functions/errors.js';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { createRunContext } from '../../../../functions/run/run-context.js';
import { recordRun } from '../../../../functions/run/runner.js';

function context(): ReturnType<typeof createRunContext> {
  let t = 1_000_000;
  return createRunContext({ request: parseMessage('127.0.0.1:9 /dir/a.ipynb'), token: 't', now: () => (t += 250) });
}

test('a run that failed before the notebook was read: no cells, kernel unknown, the error kept', () => {
  const ctx = context();
  ctx.dispose();
  const r = recordRun(ctx, new NbtError('SERVER_UNREACHABLE', 'down'));
  assert.equal(r.status, 'error');
  assert.equal(r.kernelName, null);
  assert.equal(r.notebook, 'dir/a.ipynb');
  assert.equal(r.error?.code, 'SERVER_UNREACHABLE');
  assert.deepEqual(r.cells, { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 });
  assert.equal(r.durationMs, 250);
  assert.equal(ctx.dir, 'dir');
});

test('a run that planned cells and found no kernelspec: the cells count as aborted, the name is recorded', () => {
  const ctx = context();
  ctx.dispose();
  ctx.found.kernelName = 'julia';
  ctx.found.cells = [{ index: 0, source: 'x', skip: false, allowError: false }];
  ctx.found.notebook = { cells: [{ cell_type: 'code', source: 'x' }] } as unknown as typeof ctx.found.notebook;
  ctx.found.warnings.push('a parameter warning');
  const r = recordRun(ctx, new NbtError('NO_SUCH_KERNEL', 'no julia'));
  assert.equal(r.kernelName, 'julia');
  assert.equal(r.cells.total, 1);
  assert.equal(r.cells.aborted, 1);
  assert.deepEqual(r.warnings, ['a parameter warning']);
});
