/**
 * `nbtrigger job` end to end, as a Cloud Run Job task runs it: the real command, its env contract
 * (NBTRIGGER_REQUEST, CLOUD_RUN_EXECUTION, CLOUD_RUN_TASK_INDEX, CLOUD_RUN_TASK_ATTEMPT), a real
 * private Jupyter server, the local stores. A run longer than the function's deadline succeeds; a
 * retry attempt of a finished run does not run it again; SIGTERM mid-cell records the partial
 * notebook, leaves no kernel and exits 143.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { functionConfig } from '../../../../functions/config.js';
import type { RunRecord } from '../../../../functions/run/record.js';
import { runCli, startCli } from '../../../helpers/cli.js';
import { markerCell, waitForFile } from '../../../helpers/events.js';
import { notebookJson } from '../../../helpers/jupyter.js';

type Stored = RunRecord & { runId: string; outputs?: { notebook?: string } };

function record(stdout: string): Stored {
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `one record line on stdout, got: ${stdout}`);
  return JSON.parse(lines[0]!) as Stored;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('nbtrigger job', () => {
  let dir: string;
  let runs: string;
  const env = (request: object, execution: string, attempt = 0): Record<string, string> => ({
    NBTRIGGER_REQUEST: JSON.stringify(request),
    CLOUD_RUN_EXECUTION: execution,
    CLOUD_RUN_TASK_INDEX: '0',
    CLOUD_RUN_TASK_ATTEMPT: String(attempt),
    NBTRIGGER_STORE: 'local',
    NBTRIGGER_RUNS_DIR: runs,
    FUNCTION_TIMEOUT_SEC: '40',
  });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbtrigger-job-'));
    runs = await mkdtemp(join(tmpdir(), 'nbtrigger-job-runs-'));
    // Appends one line per run: a second run of the same request would show two.
    await writeFile(
      join(dir, 'long.ipynb'),
      notebookJson(['import time\nwith open("long.count", "a") as f: f.write("run\\n")', 'time.sleep(12)\n21 * 2']),
    );
    await writeFile(
      join(dir, 'pause.ipynb'),
      notebookJson([markerCell('pause.running', 'time.sleep(3)'), '"resumed"']),
    );
    await writeFile(
      join(dir, 'term.ipynb'),
      notebookJson([`print("partial", flush=True)\n${markerCell('term.running', 'time.sleep(120)')}`, '1']),
    );
  });

  const pastDeadlineTitle =
    'runs past the function deadline, records execution and attempt; a retried attempt does not run again';
  test(pastDeadlineTitle, async () => {
    // FUNCTION_TIMEOUT_SEC=40 gives the function a 10 s run deadline; the job's cell sleeps 12 s.
    assert.equal(functionConfig({ FUNCTION_TIMEOUT_SEC: '40' }).runTimeoutMs, 10_000);
    const request = { notebook: join(dir, 'long.ipynb'), runKey: 'msg:long-1' };
    const r = await runCli(['job'], { env: env(request, 'nb-job-abc12'), timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const rec = record(r.stdout);
    assert.equal(rec.status, 'succeeded', JSON.stringify(rec.error));
    assert.deepEqual(rec.lastResult, { 'text/plain': '42' });
    assert.ok(rec.durationMs > 10_000, `ran ${rec.durationMs} ms, past the function's 10 s deadline`);
    assert.equal(rec.execution, 'nb-job-abc12');
    assert.equal(rec.attempt, 0);
    const nb = JSON.parse(await readFile(rec.outputs!.notebook!, 'utf8')) as { cells: unknown[] };
    assert.equal(nb.cells.length, 2);
    const stored = JSON.parse(await readFile(rec.outputs!.notebook!.replace(/\.ipynb$/, '.json'), 'utf8')) as Stored;
    assert.equal(stored.execution, 'nb-job-abc12');

    // Cloud Run retries the task (attempt 1) of the same execution: the run is done, not run twice.
    const again = await runCli(['job'], { env: env(request, 'nb-job-abc12', 1), timeoutMs: 60_000 });
    assert.equal(again.code, 0, again.stderr);
    const dup = record(again.stdout);
    assert.equal(dup.status, 'skipped');
    assert.equal(dup.skip?.reason, 'duplicate');
    assert.equal(dup.attempt, 1);
    assert.equal(await readFile(join(dir, 'long.count'), 'utf8'), 'run\n', 'the notebook ran once');
  });

  test('SIGTERM mid-cell: the run is recorded with its partial notebook, no kernel is left, exit 143', async () => {
    const request = { notebook: join(dir, 'term.ipynb'), runKey: 'msg:term-1' };
    const { child, result } = startCli(['job'], { env: env(request, 'nb-job-term1'), timeoutMs: 90_000 });
    const kernelPid = Number(await Promise.race([waitForFile(join(dir, 'term.running')), result.then(() => '0')]));
    assert.ok(kernelPid > 0, 'the cell started');
    child.kill('SIGTERM');
    const r = await result;
    assert.equal(r.code, 143, r.stderr);
    const rec = record(r.stdout);
    assert.equal(rec.status, 'error');
    assert.equal(rec.error?.code, 'CANCELLED');
    assert.match(rec.error!.message, /SIGTERM/);
    assert.equal(rec.execution, 'nb-job-term1');
    const nb = JSON.parse(await readFile(rec.outputs!.notebook!, 'utf8')) as {
      cells: Array<{ outputs?: Array<{ text?: string | string[] }> }>;
    };
    // Papermill's error marker comes first; the interrupted cell keeps what it printed.
    const text = JSON.stringify(nb.cells.map((c) => c.outputs ?? []));
    assert.match(text, /partial/, 'the partial output is kept');
    assert.equal(alive(kernelPid), false, 'no kernel left');
  });

  test('SIGTSTP, a pause (SIGSTOP), SIGCONT mid-cell, as Cloud Run moves a task: the run goes on', async () => {
    const request = { notebook: join(dir, 'pause.ipynb'), runKey: 'msg:pause-1' };
    const { child, result } = startCli(['job'], { env: env(request, 'nb-job-pause1'), timeoutMs: 90_000 });
    assert.ok(
      Number(await Promise.race([waitForFile(join(dir, 'pause.running')), result.then(() => '0')])) > 0,
      'the cell started',
    );
    child.kill('SIGTSTP');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(child.exitCode, null, 'SIGTSTP does not end the job');
    child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGCONT');
    const r = await result;
    assert.equal(r.code, 0, r.stderr);
    const rec = record(r.stdout);
    assert.equal(rec.status, 'succeeded', JSON.stringify(rec.error));
    assert.deepEqual(rec.lastResult, { 'text/plain': "'resumed'" });
    assert.match(r.stderr, /SIGTSTP/);
    assert.match(r.stderr, /SIGCONT/);
  });

  test('bad input: no CLOUD_RUN_EXECUTION, or a request the grammar refuses, exits 2 and runs nothing', async () => {
    const a = await runCli(['job'], {
      env: { ...env({ notebook: join(dir, 'long.ipynb') }, 'x'), CLOUD_RUN_EXECUTION: '' },
    });
    assert.equal(a.code, 2, a.stderr);
    assert.equal(record(a.stdout).error?.code, 'USAGE');
    const b = await runCli(['job'], {
      env: env({ notebook: join(dir, 'long.ipynb'), job: 'projects/p/locations/l/jobs/j' }, 'nb-job-bad'),
    });
    assert.equal(b.code, 2, b.stderr);
    assert.match(record(b.stdout).error!.message, /unknown field "job"/);
  });
});
