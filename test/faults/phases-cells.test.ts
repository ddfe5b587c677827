/**
 * The outcome table of docs/outcomes.md, its last phases, with real faults against the real
 * local Jupyter Server: a cancel (abort signal), the server stopped (SIGTERM) or killed
 * (SIGKILL), the kernel restarted by another client or killed (SIGKILL):
 *
 *  - cells running: the fault comes once the cell wrote its marker AND the runner has seen the
 *    cell start (its progress event): the kernel runs it and the client knows;
 *  - after the last cell: the runner has returned its outcome (`deferCleanup`), the kernel's
 *    deletion is under way; the fault comes then.
 *
 * Every wait is on an event (a file, a progress event, a returned promise), never on a time.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { RunOutcome } from '../../functions/run/runner.js';
import { alive, cellStart, markerCell, processGone, waitForPid } from '../helpers/events.js';
import { kernelsLeft, requestFor, T, timedRun } from './common.js';
import { gateAndServer, restartKernel, row } from './phases-common.js';

describe('phase: cells running (the cell wrote its marker)', () => {
  const cells = (marker: string): string[] => ['x = 1', markerCell(marker, 'time.sleep(1000)'), 'y = 2'];
  /** Cell 1 was running: an error at cell 1, not retryable (cell 0 ran; a retry would run it again). */
  const assertMidCell = (out: RunOutcome, code: string): void => {
    assert.equal(out.record.status, 'error', JSON.stringify(out.record));
    assert.equal(out.record.error?.code, code, JSON.stringify(out.record.error));
    assert.equal(out.record.error?.retryable, false);
    assert.equal(out.record.error?.cellIndex, 1);
    assert.equal(out.record.cells.succeeded, 1);
  };

  test('cancel: CANCELLED (ack) at the running cell, kernel deleted', T, async () => {
    const { server } = await gateAndServer(false);
    const nb = await server.writeNotebook('run-cancel.ipynb', cells('run-cancel.pid'));
    const ctl = new AbortController();
    const cell = cellStart(1);
    void Promise.all([waitForPid(join(server.rootDir, 'run-cancel.pid'), ctl.signal), cell.started]).then(() =>
      ctl.abort(),
    );
    const out = await timedRun({
      request: requestFor(server.hostPort, nb),
      token: server.token,
      signal: ctl.signal,
      onProgress: cell.onProgress,
    });
    ctl.abort();
    assertMidCell(out, 'CANCELLED');
    const left = await kernelsLeft(server);
    assert.equal(left, 0);
    row('cancel', 'cells running', 'CANCELLED (ack)', out, left);
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`server ${signal}: KERNEL_DIED (ack) at the running cell, the kernel process gone`, T, async () => {
      const { server } = await gateAndServer(true);
      let kernelPid = 0;
      try {
        const nb = await server.writeNotebook('run-away.ipynb', cells('run-away.pid'));
        const stop = new AbortController();
        const cell = cellStart(1);
        void Promise.all([waitForPid(join(server.rootDir, 'run-away.pid'), stop.signal), cell.started]).then(
          ([pid]) => {
            kernelPid = pid;
            if (pid) process.kill(server.child.pid!, signal);
          },
        );
        const out = await timedRun({
          request: requestFor(server.hostPort, nb),
          token: server.token,
          onProgress: cell.onProgress,
        });
        stop.abort();
        assert.ok(kernelPid > 0);
        assertMidCell(out, 'KERNEL_DIED');
        await processGone(kernelPid); // SIGTERM: the server shuts it down; SIGKILL: ipykernel sees its parent die
        row(`server ${signal}`, 'cells running', 'KERNEL_DIED (ack)', out, '0 processes');
      } finally {
        await server.close();
      }
    });
  }

  test('restart by another client: KERNEL_DIED (ack) at the running cell, kernel deleted', T, async () => {
    const { server } = await gateAndServer(false);
    const nb = await server.writeNotebook('run-restart.ipynb', cells('run-restart.pid'));
    const stop = new AbortController();
    const cell = cellStart(1);
    const restarted = Promise.all([
      waitForPid(join(server.rootDir, 'run-restart.pid'), stop.signal),
      cell.started,
    ]).then(([pid]) => (pid ? restartKernel(server) : 0));
    const out = await timedRun({
      request: requestFor(server.hostPort, nb),
      token: server.token,
      onProgress: cell.onProgress,
    });
    stop.abort();
    assert.equal(await restarted, 200);
    assertMidCell(out, 'KERNEL_DIED');
    assert.match(out.record.error!.message, /restart/);
    const left = await kernelsLeft(server);
    assert.equal(left, 0);
    row('kernel restart', 'cells running', 'KERNEL_DIED (ack)', out, left);
  });

  test('kernel killed: KERNEL_DIED (ack) at the running cell, kernel deleted', T, async () => {
    const { server } = await gateAndServer(false);
    const nb = await server.writeNotebook('run-kill.ipynb', cells('run-kill.pid'));
    const stop = new AbortController();
    const cell = cellStart(1);
    const killed = Promise.all([waitForPid(join(server.rootDir, 'run-kill.pid'), stop.signal), cell.started]).then(
      ([pid]) => {
        if (pid) process.kill(pid, 'SIGKILL');
        return pid;
      },
    );
    const out = await timedRun({
      request: requestFor(server.hostPort, nb),
      token: server.token,
      onProgress: cell.onProgress,
    });
    stop.abort();
    assert.ok((await killed) > 0);
    assertMidCell(out, 'KERNEL_DIED');
    const left = await kernelsLeft(server);
    assert.equal(left, 0);
    row('kernel kill -9', 'cells running', 'KERNEL_DIED (ack)', out, left);
  });
});

describe('phase: after the last cell (outcome returned, kernel deletion under way)', () => {
  const faults = ['cancel', 'server SIGTERM', 'server SIGKILL', 'kernel restart', 'kernel kill -9'] as const;
  for (const fault of faults) {
    test(`${fault}: the run stays succeeded, cleanup settles, no kernel left`, T, async () => {
      const own = fault.startsWith('server');
      const { server } = await gateAndServer(own);
      try {
        const nb = await server.writeNotebook(`after-${faults.indexOf(fault)}.ipynb`, [
          markerCell(`after-${faults.indexOf(fault)}.pid`, '"done"'),
        ]);
        const ctl = new AbortController();
        const out = await timedRun({
          request: requestFor(server.hostPort, nb),
          token: server.token,
          signal: ctl.signal,
          deferCleanup: true,
        });
        const kernelPid = await waitForPid(join(server.rootDir, `after-${faults.indexOf(fault)}.pid`));
        if (fault === 'cancel') ctl.abort();
        else if (fault === 'server SIGTERM') process.kill(server.child.pid!, 'SIGTERM');
        else if (fault === 'server SIGKILL') process.kill(server.child.pid!, 'SIGKILL');
        else if (fault === 'kernel restart')
          await restartKernel(server, 0).catch(() => 0); // may find the kernel gone already
        else if (alive(kernelPid)) process.kill(kernelPid, 'SIGKILL');
        await out.cleanup; // settles, never rejects
        assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
        assert.deepEqual(out.record.lastResult, { 'text/plain': "'done'" });
        await processGone(kernelPid);
        const left = own ? 'n/a' : await kernelsLeft(server);
        if (!own) assert.equal(left, 0);
        row(fault, 'after the last cell', 'succeeded', out, left);
      } finally {
        if (own) await server.close();
      }
    });
  }
});
