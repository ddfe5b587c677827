/**
 * Fault: iopub messages lost between the kernel and the Jupyter server. The server is stopped
 * (SIGSTOP) while a cell prints 20,000 flushed lines and the next cell runs, and resumed (SIGCONT)
 * once the kernel has finished both. A kernel with ZeroMQ's default queue bound (a stock kernel's)
 * drops what does not fit, both cells' `idle` statuses among them: the run must end without waiting
 * for the cell timeout (a probe proves the `idle`s lost), succeed with both cells run and warn that
 * their outputs may be incomplete. nbtrigger's kernels (notebook-image/nbtrigger_kernel_patches.py)
 * keep every message: all the output arrives, with no warning. No kernel is left either way.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { cellStart } from '../helpers/events.js';
import { startTestServer } from '../helpers/jupyter.js';
import { kernelsLeft, observed, recordRow, requestFor, streamText, T, timedRun } from './common.js';

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

interface Flood {
  out: Awaited<ReturnType<typeof timedRun>>;
  left: number;
  /** Both cells ran while the server was stopped. */
  whileStopped: boolean;
}

/** Runs the flood notebook on a server of its own started with `env`, stopped for the flood. */
async function floodWhileStopped(env: Record<string, string>): Promise<Flood> {
  const own = await startTestServer({ env });
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
      // Without the probe a lost idle would wait here, then fail the cell with TIMEOUT.
      limits: { cellTimeoutMs: 120_000, runTimeoutMs: 200_000 },
      onProgress: cell.onProgress,
    });
    ended.abort();
    const whileStopped = await fault;
    return { out, left: await kernelsLeft(own), whileStopped };
  } finally {
    if (stopped) process.kill(serverPid, 'SIGCONT');
    await own.close();
  }
}

const lostWarnings = (out: Flood['out']): string[] =>
  out.record.warnings.filter((w) => /outputs may be incomplete/.test(w));

test(
  'iopub messages dropped while the server is stopped: the run ends, succeeds and warns; no kernel left',
  T,
  async () => {
    // A kernel whose iopub queue has ZeroMQ's default bound, as a stock kernel's has.
    const { out, left, whileStopped } = await floodWhileStopped({ NBTRIGGER_KERNEL_IOPUB_HWM: '1000' });
    assert.equal(whileStopped, true, `both cells ran while the server was stopped (run: ${observed(out)})`);
    assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
    assert.equal(out.record.cells.executed, 2);
    assert.equal(out.record.cells.succeeded, 2);
    const lost = lostWarnings(out);
    assert.ok(
      lost.some((w) => w.startsWith('cell 0:')),
      `a warning for cell 0: ${JSON.stringify(out.record.warnings)}`,
    );
    assert.ok(streamText(out, 0).split('\n').length - 1 < 20_000, 'output was lost');
    assert.equal(left, 0);
    recordRow({
      fault: 'iopub dropped at the kernel (bounded queue; server stopped while a cell floods)',
      expected: 'succeeded, a warning per cell',
      observed: `${observed(out)}, ${lost.length} warning(s)`,
      seconds: out.seconds,
      kernelsLeft: left,
    });
  },
);

test("nbtrigger's kernels keep every iopub message for a stopped server: all output, no warning", T, async () => {
  const { out, left, whileStopped } = await floodWhileStopped({});
  assert.equal(whileStopped, true, `both cells ran while the server was stopped (run: ${observed(out)})`);
  assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
  assert.deepEqual(lostWarnings(out), []);
  const text = streamText(out, 0);
  assert.equal(text.split('\n').length - 1, 20_000, 'every line arrived');
  assert.ok(text.endsWith('line 19999\n'));
  assert.deepEqual(out.record.lastResult, { 'text/plain': "'after'" });
  assert.equal(left, 0);
  recordRow({
    fault: "server stopped while a cell floods iopub (nbtrigger's kernels)",
    expected: 'succeeded, all output',
    observed: `${observed(out)}, ${lostWarnings(out).length} warning(s)`,
    seconds: out.seconds,
    kernelsLeft: left,
  });
});
