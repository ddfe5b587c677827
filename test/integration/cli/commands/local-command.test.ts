/**
 * `nbtrigger local NOTEBOOK` end to end, as a user runs it: the real CLI starts a private Jupyter
 * server and the function under functions-framework, delivers one Pub/Sub-shaped CloudEvent, and
 * prints the function's own run record; the exit code is the run's, and the server is stopped
 * after. Bounds are hang bounds: on a machine whose cores are all busy the stack takes tens of
 * seconds to start.
 * Spec: docs/running.md (the local stack).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RunRecord } from '../../../../functions/run/record.js';
import { portClosed, runCli } from '../../../helpers/cli.js';
import { notebookJson } from '../../../helpers/jupyter.js';

const HANG_MS = 300_000;
const T = { timeout: 2 * HANG_MS };

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nbtrigger-local-command-'));
  await writeFile(join(dir, 'ok.ipynb'), notebookJson(['a = 5', 'b = 10', 'a + b']));
  await writeFile(join(dir, 'fail.ipynb'), notebookJson(['x = 1', 'raise ValueError("boom")', 'x + 1']));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("--json: the function's record of the run, exit 0, the private server stopped", T, async () => {
  const r = await runCli(['local', '--json', join(dir, 'ok.ipynb')], { timeoutMs: HANG_MS });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  const rec = JSON.parse(lines[0]!) as RunRecord;
  assert.equal(rec.status, 'succeeded', JSON.stringify(rec.error));
  assert.deepEqual(rec.lastResult, { 'text/plain': '15' });
  assert.equal(rec.notebook, 'ok.ipynb');
  assert.match(rec.messageId ?? '', /^\d+$/, "the record is the function's, for the delivered message");
  assert.match(rec.server!, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(await portClosed(rec.server!), 'the private server is stopped after the run');
});

test('a failing notebook exits 1 naming the error; a missing one is NOTEBOOK_NOT_FOUND', T, async () => {
  const r = await runCli(['local', join(dir, 'fail.ipynb')], { timeoutMs: HANG_MS });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /ValueError/);
  const missing = await runCli(['local', '--json', join(dir, 'nope.ipynb')], { timeoutMs: HANG_MS });
  assert.notEqual(missing.code, 0);
  assert.equal((JSON.parse(missing.stdout) as RunRecord).error?.code, 'NOTEBOOK_NOT_FOUND');
});
