/**
 * Integration: the runner's failure paths against a real local Jupyter Server with ipykernel:
 * cell timeout, run deadline, a kernel that ignores interrupts, a kernel killed mid-cell. Each
 * ends in bounded time with no kernel left behind.
 *
 * A test that means "mid-cell" waits until the cell runs (the cell writes a marker file) and the
 * runner knows it (its progress event for that cell), never for a time. Upper bounds on the wall
 * time are hang checks, generous enough for a loaded machine; lower bounds check that a limit did
 * not fire early. A wrong token, a server that is down and one that stops mid-cell are in
 * failures-server.test.ts.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request as httpRequest } from 'undici';
import { freePort } from '../../../../cli/local/jupyter-server.js';
import { runNotebook, type RunLimits, type RunOptions, type RunOutcome } from '../../../../functions/run/runner.js';
import { cellStart, deadlineInCell, markerCell, waitForPid } from '../../../helpers/events.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';
import { FAULT_LIMITS, HANG_MS, LIMITS, requestFor, runOn, T } from './failures-common.js';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

const run = (
  path: string,
  limits: Partial<RunLimits>,
  token = server.token,
  onProgress?: RunOptions['onProgress'],
): Promise<RunOutcome & { wallMs: number }> => runOn(server, path, limits, token, onProgress);

describe('runner: timeouts', () => {
  test('a busy-looping cell exceeds its cell timeout: timed_out, interrupted, kernel deleted', T, async () => {
    const nb = await server.writeNotebook('spin.ipynb', ['x = 1', 'while True: pass', 'y = 2']);
    const { record, error, wallMs, exec } = await run(nb, { cellTimeoutMs: 1500 });
    assert.equal(record.status, 'timed_out');
    assert.equal(error?.code, 'TIMEOUT');
    assert.equal(record.error?.code, 'TIMEOUT');
    assert.equal(record.error?.cellIndex, 1);
    // Interrupted, and the interrupt's KeyboardInterrupt is kept in the cell (as nbclient keeps it), not a cell error.
    assert.equal(exec?.interrupted, true);
    assert.deepEqual(
      exec?.outputs.outputs(1).map((o) => [o.output_type, (o as { ename?: string }).ename]),
      [['error', 'KeyboardInterrupt']],
    );
    assert.equal(exec?.cells.find((c) => c.index === 1)?.status, 'timed_out');
    assert.match(record.error!.message, /cell 1/);
    assert.deepEqual(record.cells, { total: 3, executed: 2, succeeded: 1, failed: 1, aborted: 1, skipped: 0 });
    assert.ok(wallMs >= 1500 && wallMs < HANG_MS, `returned after ${wallMs} ms`);
  });

  test('a sleeping cell passes the run deadline: timed_out, kernel deleted', T, async () => {
    const nb = await server.writeNotebook('sleep.ipynb', ['x = 1', 'import time; time.sleep(1000)', 'y = 2']);
    // The deadline must land while cell 1 sleeps: on a machine where the kernel start outlasts it,
    // the run is repeated with a longer one (deadlineInCell); every attempt is a TIMEOUT.
    const { record, wallMs, deadlineMs } = await deadlineInCell(
      6000,
      96_000,
      (ms) => run(nb, { runTimeoutMs: ms }),
      (r) => r.record.cells.succeeded === 1,
      (r) => {
        assert.equal(r.record.status, 'timed_out', JSON.stringify(r.record));
        assert.equal(r.error?.code, 'TIMEOUT');
        assert.match(r.record.error!.message, /deadline/);
      },
    );
    assert.equal(record.error?.cellIndex, 1);
    assert.deepEqual(record.cells, { total: 3, executed: 2, succeeded: 1, failed: 1, aborted: 1, skipped: 0 });
    assert.ok(
      wallMs >= deadlineMs && wallMs < deadlineMs + HANG_MS,
      `returned after ${wallMs} ms (deadline ${deadlineMs} ms)`,
    );
  });

  test('a cell that ignores SIGINT still ends at its timeout and its kernel is deleted', T, async () => {
    const nb = await server.writeNotebook('stubborn.ipynb', [
      'import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass',
    ]);
    const { record, wallMs } = await run(nb, { cellTimeoutMs: 1000 });
    assert.equal(record.status, 'timed_out');
    assert.equal(record.error?.code, 'TIMEOUT');
    assert.equal(record.error?.cellIndex, 0);
    assert.deepEqual(record.cells, { total: 1, executed: 1, succeeded: 0, failed: 1, aborted: 0, skipped: 0 });
    assert.ok(wallMs < HANG_MS, `returned after ${wallMs} ms`);
  });

  test('the run deadline also bounds the server wait', T, async () => {
    const port = await freePort();
    const t0 = Date.now();
    const { record } = await runNotebook({
      request: requestFor(`127.0.0.1:${port}`, 'x.ipynb'),
      token: 't',
      limits: { startTimeoutMs: 60_000, runTimeoutMs: 1200 },
    });
    const wallMs = Date.now() - t0;
    assert.equal(record.status, 'error');
    assert.equal(record.error?.code, 'SERVER_UNREACHABLE');
    assert.equal(record.error?.retryable, true);
    assert.ok(wallMs >= 1000 && wallMs < 15_000, `returned after ${wallMs} ms`);
  });
});

describe('runner: cancellation', () => {
  test('an aborted signal mid-cell (Ctrl-C): CANCELLED, kernel interrupted and deleted, no hang', T, async () => {
    const nb = await server.writeNotebook('cancel.ipynb', [
      'x = 1',
      markerCell('cancel.running', 'time.sleep(1000)'),
      'y = 2',
    ]);
    const ctl = new AbortController();
    const ended = new AbortController();
    const cell = cellStart(1);
    const canceller = Promise.all([
      waitForPid(join(server.rootDir, 'cancel.running'), ended.signal),
      cell.started,
    ]).then(([pid]) => {
      if (pid) ctl.abort();
      return pid;
    });
    const { record, error } = await runNotebook({
      request: requestFor(server.hostPort, nb),
      token: server.token,
      signal: ctl.signal,
      onProgress: cell.onProgress,
      limits: { ...LIMITS, cellTimeoutMs: HANG_MS },
    });
    ended.abort();
    assert.ok(await canceller, `the cell ran before the cancel (run: ${JSON.stringify(record.error)})`);
    assert.deepEqual(await server.kernels(), []);
    assert.equal(record.status, 'error');
    assert.equal(error?.code, 'CANCELLED');
    assert.equal(record.error?.retryable, false);
    assert.equal(record.error?.cellIndex, 1);
    assert.equal(record.cells.succeeded, 1);
    assert.equal(record.cells.total, 3);
  });
});

describe('runner: kernel death', () => {
  test('the cell kills its own kernel: KERNEL_DIED, no hang', T, async () => {
    // The kill waits until the runner has cell 0's answers: a SIGKILL also drops what the kernel had
    // not yet written to its sockets, and cell 0's reply must not be among it for "cell 1 died".
    const gate = join(server.rootDir, 'suicide.go');
    const nb = await server.writeNotebook('suicide.ipynb', [
      'x = 1',
      'import os, signal, time\nwhile not os.path.exists("suicide.go"): ' +
        'time.sleep(0.02)\nos.kill(os.getpid(), signal.SIGKILL)',
      'y = 2',
    ]);
    const { record, error, wallMs } = await run(nb, FAULT_LIMITS, server.token, (e) => {
      if (e.type === 'done' && e.cellIndex === 0) void writeFile(gate, 'go');
    });
    assert.equal(record.status, 'error');
    assert.equal(error?.code, 'KERNEL_DIED');
    assert.equal(record.error?.cellIndex, 1);
    assert.equal(record.error?.retryable, false, 'a kernel that died mid-run is not retried');
    assert.deepEqual(record.cells, { total: 3, executed: 2, succeeded: 1, failed: 1, aborted: 1, skipped: 0 });
    assert.ok(wallMs < HANG_MS, `returned after ${wallMs} ms`);
  });

  test('the kernel process is killed from outside mid-cell: KERNEL_DIED, no hang', T, async () => {
    const nb = await server.writeNotebook('victim.ipynb', [markerCell('victim.pid', 'time.sleep(1000)'), 'y = 2']);
    const ended = new AbortController();
    const cell = cellStart(0);
    const killer = Promise.all([waitForPid(join(server.rootDir, 'victim.pid'), ended.signal), cell.started]).then(
      ([pid]) => {
        if (pid) process.kill(pid, 'SIGKILL');
        return pid;
      },
    );
    const { record, error, wallMs } = await run(nb, FAULT_LIMITS, server.token, cell.onProgress);
    ended.abort();
    assert.ok((await killer) > 0, `the kernel was killed mid-cell (run: ${JSON.stringify(record.error)})`);
    assert.equal(record.status, 'error');
    assert.equal(error?.code, 'KERNEL_DIED');
    assert.equal(record.error?.cellIndex, 0);
    assert.equal(record.error?.retryable, false);
    assert.deepEqual(record.cells, { total: 2, executed: 1, succeeded: 0, failed: 1, aborted: 1, skipped: 0 });
    assert.ok(wallMs < HANG_MS, `returned after ${wallMs} ms`);
  });

  test('another client restarts the kernel mid-cell: KERNEL_DIED, kernel still deleted', T, async () => {
    const nb = await server.writeNotebook('restarted.ipynb', [
      'x = 1',
      markerCell('restarted.running', 'time.sleep(1000)'),
    ]);
    const ended = new AbortController();
    const cell = cellStart(1);
    const restarter = Promise.all([
      waitForPid(join(server.rootDir, 'restarted.running'), ended.signal),
      cell.started,
    ]).then(async ([pid]) => {
      if (!pid) return 0;
      const [id] = await server.kernels();
      const res = await httpRequest(`http://${server.hostPort}/api/kernels/${id}/restart`, {
        method: 'POST',
        headers: { authorization: `token ${server.token}` },
      });
      await res.body.dump();
      return res.statusCode;
    });
    const { record, error, wallMs } = await run(nb, FAULT_LIMITS, server.token, cell.onProgress);
    ended.abort();
    assert.equal(await restarter, 200, `the kernel was restarted mid-cell (run: ${JSON.stringify(record.error)})`);
    assert.equal(record.status, 'error');
    assert.equal(error?.code, 'KERNEL_DIED');
    assert.match(record.error!.message, /restart/);
    assert.equal(record.error?.cellIndex, 1);
    assert.equal(record.error?.retryable, false);
    assert.deepEqual(record.cells, { total: 2, executed: 2, succeeded: 1, failed: 1, aborted: 0, skipped: 0 });
    assert.ok(wallMs < HANG_MS, `returned after ${wallMs} ms`);
  });
});
