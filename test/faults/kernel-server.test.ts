/**
 * Faults of the kernel and the server while a run is under way, against the real local Jupyter
 * Server: the kernel killed with SIGKILL mid-cell, the server stopped (SIGTERM, as Cloud Run
 * scales in) or killed (SIGKILL) mid-run, a cell printing 50 MB, an endless cell at the run
 * deadline. Each: the classified outcome, the ack/retry decision, a time bound, no kernel left.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cellStart, deadlineInCell } from '../helpers/events.js';
import { startTestServer, type TestServer } from '../helpers/jupyter.js';
import { kernelsLeft, observed, recordRow, requestFor, streamText, T, timedRun } from './common.js';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

/** A first cell that writes the kernel's pid to `file` (atomically) and then runs `rest`. */
function pidCell(file: string, rest: string): string {
  const writePid = `with open("${file}.tmp", "w") as f: f.write(str(os.getpid()))\nos.rename("${file}.tmp", "${file}")`;
  return `import os, time\n${writePid}\n${rest}`;
}

/** Polls for the pid file until it appears (→ pid) or `stop` aborts (→ 0). */
async function waitForPid(root: string, file: string, stop: AbortSignal): Promise<number> {
  while (!stop.aborted) {
    const pid = await readFile(join(root, file), 'utf8').catch(() => '');
    if (pid) return Number(pid);
    await new Promise((r) => setTimeout(r, 50));
  }
  return 0;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until a process is gone; answers whether it still lives. */
async function stillAlive(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return alive(pid);
}

describe('fault: the kernel dies', () => {
  test(
    'kill -9 of the kernel mid-cell: KERNEL_DIED, ack (a cell had started), no hang, no kernel left',
    T,
    async () => {
      const nb = await server.writeNotebook('kill9.ipynb', [pidCell('kill9.pid', 'time.sleep(1000)'), 'y = 2']);
      const ended = new AbortController();
      const cell = cellStart(0);
      const killer = Promise.all([waitForPid(server.rootDir, 'kill9.pid', ended.signal), cell.started]).then(
        ([pid]) => {
          if (pid) process.kill(pid, 'SIGKILL');
          return pid;
        },
      );
      const out = await timedRun({
        request: requestFor(server.hostPort, nb),
        token: server.token,
        limits: { runTimeoutMs: 60_000 },
        onProgress: cell.onProgress,
      });
      ended.abort();
      assert.ok(await killer, `the kernel was killed mid-cell (run: ${JSON.stringify(out.record.error)})`);
      const left = await kernelsLeft(server);
      assert.equal(out.record.status, 'error');
      assert.equal(out.record.error?.code, 'KERNEL_DIED');
      assert.equal(out.record.error?.retryable, false);
      assert.equal(out.record.error?.cellIndex, 0);
      assert.equal(left, 0);
      assert.ok(out.seconds < 60, `${out.seconds} s`);
      recordRow({
        fault: 'kernel kill -9 mid-cell',
        expected: 'KERNEL_DIED (ack)',
        observed: observed(out),
        seconds: out.seconds,
        kernelsLeft: left,
      });
    },
  );
});

describe('fault: the server goes away mid-run', () => {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`the Jupyter server gets ${signal} mid-cell: KERNEL_DIED, bounded, the kernel process gone`, T, async () => {
      const own = await startTestServer();
      let kernelPid = 0;
      try {
        const nb = await own.writeNotebook('away.ipynb', [pidCell('away.pid', 'time.sleep(1000)'), 'y = 2']);
        const ended = new AbortController();
        // Mid-cell: the kernel runs the cell (its pid file) and the runner knows it (its progress event).
        const cell = cellStart(0);
        const stopper = Promise.all([waitForPid(own.rootDir, 'away.pid', ended.signal), cell.started]).then(([pid]) => {
          kernelPid = pid;
          if (pid) process.kill(own.child.pid!, signal);
        });
        const out = await timedRun({
          request: requestFor(own.hostPort, nb),
          token: own.token,
          limits: { runTimeoutMs: 60_000 },
          onProgress: cell.onProgress,
        });
        ended.abort();
        await stopper;
        assert.ok(kernelPid > 0, `the server was stopped mid-cell (run: ${JSON.stringify(out.record.error)})`);
        assert.equal(out.record.status, 'error');
        assert.equal(out.record.error?.code, 'KERNEL_DIED', JSON.stringify(out.record.error));
        assert.equal(out.record.error?.retryable, false, 'cells ran: a retry would run them again');
        assert.equal(out.record.error?.cellIndex, 0);
        // SIGKILL: the channel drops, the reconnect finds no server (bounded attempts).
        if (signal === 'SIGKILL') assert.match(out.record.error!.message, /not restored after \d+ reconnect attempt/);
        assert.ok(out.seconds < 60, `${out.seconds} s`);
        // The server cannot be asked any more: the kernel's process must be gone (the server
        // shuts it down on SIGTERM; ipykernel exits when its parent dies on SIGKILL).
        const orphan = await stillAlive(kernelPid, 8000);
        if (orphan) process.kill(kernelPid, 'SIGKILL');
        assert.equal(orphan, false, 'no kernel process outlives the server');
        recordRow({
          fault: `Jupyter server ${signal} mid-run`,
          expected: 'KERNEL_DIED (ack)',
          observed: observed(out),
          seconds: out.seconds,
          kernelsLeft: orphan ? '1 process' : '0 processes',
        });
      } finally {
        await own.close();
      }
    });
  }
});

describe('fault: cells that do not stop', () => {
  test('a cell printing 50 MB: the run finishes, outputs capped, memory bounded', T, async () => {
    const nb = await server.writeNotebook('big.ipynb', [
      'chunk = "x" * 999_999\nfor _ in range(50):\n    print(chunk, flush=True)',
      '"after"',
    ]);
    const cap = 2_000_000;
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 25);
    const out = await timedRun({
      request: requestFor(server.hostPort, nb),
      token: server.token,
      limits: { runTimeoutMs: 80_000, maxOutputChars: cap },
    });
    clearInterval(sampler);
    const left = await kernelsLeft(server);
    const growthMb = (peak - rss0) / 1e6;
    assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
    const kept = streamText(out, 0).length;
    assert.ok(kept <= cap + 200, `kept ${kept} characters of 50 MB (cap ${cap})`);
    assert.ok(kept >= cap / 2, `kept ${kept}: the cap keeps the head`);
    assert.ok(
      out.record.warnings.some((w) => /cell 0: output truncated/.test(w)),
      JSON.stringify(out.record.warnings),
    );
    assert.deepEqual(out.record.lastResult, { 'text/plain': "'after'" });
    assert.ok(growthMb < 400, `RSS grew by ${growthMb.toFixed(0)} MB`);
    assert.equal(left, 0);
    recordRow({
      fault: 'cell printing 50 MB',
      expected: 'succeeded, output capped',
      observed: `${observed(out)}, kept ${(kept / 1e6).toFixed(1)} MB, RSS +${growthMb.toFixed(0)} MB`,
      seconds: out.seconds,
      kernelsLeft: left,
    });
  });

  // The deadline must land while the endless cell runs: on a machine where the kernel start outlasts
  // it, the run is repeated with a longer one (deadlineInCell); every attempt is a TIMEOUT (ack).
  test('an endless cell at the run deadline: timed_out, interrupted, kernel deleted, ack', {
    timeout: 300_000,
  }, async () => {
    const nb = await server.writeNotebook('endless.ipynb', ['x = 1', 'while True: pass', 'y = 2']);
    const out = await deadlineInCell(
      3000,
      48_000,
      (ms) => timedRun({ request: requestFor(server.hostPort, nb), token: server.token, limits: { runTimeoutMs: ms } }),
      (r) => r.record.cells.succeeded === 1,
      async (r) => {
        assert.equal(r.record.status, 'timed_out', JSON.stringify(r.record));
        assert.equal(r.record.error?.code, 'TIMEOUT');
        assert.equal(r.record.error?.retryable, false);
        assert.equal(await kernelsLeft(server), 0);
      },
    );
    assert.equal(out.record.error?.cellIndex, 1, JSON.stringify(out.record));
    assert.match(out.record.error!.message, /deadline/);
    assert.equal(out.exec?.interrupted, true, 'the endless cell was interrupted');
    assert.deepEqual(out.record.cells, { total: 3, executed: 2, succeeded: 1, failed: 1, aborted: 1, skipped: 0 });
    assert.ok(out.seconds >= (out.deadlineMs - 100) / 1000, `not before the deadline: ${out.seconds} s`);
    recordRow({
      fault: `endless cell at the run deadline (${out.deadlineMs / 1000} s)`,
      expected: 'TIMEOUT (ack)',
      observed: observed(out),
      seconds: out.seconds,
      kernelsLeft: 0,
    });
  });
});
