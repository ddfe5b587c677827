/**
 * Fault: iopub messages lost between the kernel and the Jupyter server. The server is stopped
 * (SIGSTOP) while a cell prints 20,000 flushed lines and the next cell runs: the kernel's iopub
 * queue towards the server fills and ZeroMQ drops the rest, both cells' `idle` statuses among them.
 * The server is resumed (SIGCONT) once the kernel has finished both cells. The run must end without
 * waiting for the cell timeout (a probe proves the `idle`s lost), succeed with both cells run, warn
 * that their outputs may be incomplete, and leave no kernel.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { cellStart } from '../helpers/events.js';
import { startTestServer } from '../helpers/jupyter.js';
import { kernelsLeft, observed, recordRow, requestFor, T, timedRun } from './common.js';

/** Polls (every 50 ms) until `file` exists under `root`, or `stop` aborts. */
async function waitForFile(root: string, file: string, stop: AbortSignal): Promise<boolean> {
  while (!stop.aborted) {
    if (
      await readFile(join(root, file)).then(
        () => true,
        () => false,
      )
    )
      return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

test(
  'iopub messages dropped while the server is stopped: the run ends, succeeds and warns; no kernel left',
  T,
  async () => {
    const own = await startTestServer();
    const serverPid = own.child.pid!;
    let stopped = false;
    try {
      const nb = await own.writeNotebook('flood.ipynb', [
        // Waits for the test's go (the server is stopped by then), then floods iopub.
        'import os, time\nwhile not os.path.exists("go"): time.sleep(0.02)\n' +
          'for i in range(20000): print("line", i, flush=True)',
        'with open("done.tmp", "w") as f: f.write("1")\nos.rename("done.tmp", "done")\n"after"',
      ]);
      const ended = new AbortController();
      const cell = cellStart(0);
      const fault = cell.started.then(async () => {
        process.kill(serverPid, 'SIGSTOP');
        stopped = true;
        await writeFile(join(own.rootDir, 'go'), '');
        const done = await waitForFile(own.rootDir, 'done', ended.signal);
        process.kill(serverPid, 'SIGCONT');
        stopped = false;
        return done;
      });
      const out = await timedRun({
        request: requestFor(own.hostPort, nb),
        token: own.token,
        // Without the probe the run would wait here, then fail the cell with TIMEOUT.
        limits: { cellTimeoutMs: 120_000, runTimeoutMs: 200_000 },
        onProgress: cell.onProgress,
      });
      ended.abort();
      assert.equal(await fault, true, `both cells ran while the server was stopped (run: ${observed(out)})`);
      const left = await kernelsLeft(own);
      assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
      assert.equal(out.record.cells.executed, 2);
      assert.equal(out.record.cells.succeeded, 2);
      const lost = out.record.warnings.filter((w) => /outputs may be incomplete/.test(w));
      assert.ok(
        lost.some((w) => w.startsWith('cell 0:')),
        `a warning for cell 0: ${JSON.stringify(out.record.warnings)}`,
      );
      assert.equal(left, 0);
      recordRow({
        fault: 'iopub idle dropped (server stopped while a cell floods)',
        expected: 'succeeded, a warning per cell',
        observed: `${observed(out)}, ${lost.length} warning(s)`,
        seconds: out.seconds,
        kernelsLeft: left,
      });
    } finally {
      if (stopped) process.kill(serverPid, 'SIGCONT');
      await own.close();
    }
  },
);
