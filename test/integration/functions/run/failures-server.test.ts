/**
 * Integration: the runner's failure paths that come from the server, against a real local Jupyter
 * Server with ipykernel: a wrong token, a server that is down, and a server that stops while a
 * cell runs. Each ends in bounded time with no kernel left behind; the kernel's own failures are in
 * failures.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findPython, freePort } from '../../../../cli/local/jupyter-server.js';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { runNotebook, type RunLimits, type RunOutcome } from '../../../../functions/run/runner.js';
import { cellStart, markerCell, waitForPid } from '../../../helpers/events.js';
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
): Promise<RunOutcome & { wallMs: number }> => runOn(server, path, limits, token);

describe('runner: server problems', () => {
  test('a wrong token: AUTH_REFUSED, not retryable, token not echoed', T, async () => {
    const nb = await server.writeNotebook('auth.ipynb', ['1']);
    const { record, error, wallMs } = await run(nb, {}, 'wrong-token-value');
    assert.equal(record.status, 'error');
    assert.equal(error?.code, 'AUTH_REFUSED');
    assert.equal(record.error?.retryable, false);
    assert.ok(!JSON.stringify(record).includes('wrong-token-value'));
    assert.deepEqual(record.cells, { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 });
    assert.ok(wallMs < 50_000, `auth refusal is not retried until the 60 s start timeout (${wallMs} ms)`);
  });

  test('a server that is down: SERVER_UNREACHABLE after the start timeout, retryable', T, async () => {
    const port = await freePort();
    const t0 = Date.now();
    const { record, error } = await runNotebook({
      request: requestFor(`127.0.0.1:${port}`, 'x.ipynb'),
      token: 't',
      limits: { startTimeoutMs: 1500 },
    });
    const wallMs = Date.now() - t0;
    assert.equal(record.status, 'error');
    assert.equal(error?.code, 'SERVER_UNREACHABLE');
    assert.equal(record.error?.retryable, true);
    assert.match(record.error!.message, /start timeout/);
    assert.equal(record.server, `http://127.0.0.1:${port}`);
    assert.deepEqual(record.cells, { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 });
    assert.ok(wallMs >= 1400 && wallMs < 15_000, `returned after ${wallMs} ms`);
  });
});

describe('runner: the server goes away mid-cell', () => {
  test(
    'the server stops while a cell runs: KERNEL_DIED (not a KeyboardInterrupt in the notebook), no hang',
    T,
    async () => {
      const own = await startTestServer();
      try {
        const nb = await own.writeNotebook('away.ipynb', ['x = 1', markerCell('away.running', 'time.sleep(1000)')]);
        const req = { ...parseMessage(`${own.hostPort} /${nb}`) };
        const ended = new AbortController();
        const cell = cellStart(1);
        const stopper = Promise.all([waitForPid(join(own.rootDir, 'away.running'), ended.signal), cell.started]).then(
          ([pid]) => {
            if (pid) process.kill(own.child.pid!, 'SIGTERM');
            return pid;
          },
        );
        const t0 = Date.now();
        const { record, error } = await runNotebook({
          request: req,
          token: own.token,
          onProgress: cell.onProgress,
          limits: { ...LIMITS, ...FAULT_LIMITS },
        });
        const wallMs = Date.now() - t0;
        ended.abort();
        assert.ok(await stopper, `the server was stopped mid-cell (run: ${JSON.stringify(record.error)})`);
        assert.equal(record.status, 'error');
        assert.equal(error?.code, 'KERNEL_DIED');
        // jupyter_client interrupts a kernel before it shuts it down: the cell's KeyboardInterrupt can
        // reach the run before the socket closes, and it is named as the server's, not the notebook's.
        assert.match(
          record.error!.message,
          /shut down by the server|closed unexpectedly|not restored|interrupted from outside the run/,
        );
        assert.equal(record.error?.cellIndex, 1);
        assert.equal(record.error?.retryable, false);
        assert.deepEqual(record.cells, { total: 2, executed: 2, succeeded: 1, failed: 1, aborted: 0, skipped: 0 });
        assert.ok(wallMs < HANG_MS, `returned after ${wallMs} ms`);
      } finally {
        await own.close();
      }
    },
  );
});

describe('runner: a kernel that never starts', () => {
  test(
    'its process lives but never answers: a retryable failure within the start bound, no kernel left',
    T,
    async () => {
      // A kernelspec whose process sleeps instead of binding the kernel's ports: what a kernel that
      // lost Jupyter's port race (or hung in its start-up) looks like to the server.
      const path = await mkdtemp(join(tmpdir(), 'nbtrigger-silent-kernel-'));
      const dir = join(path, 'kernels', 'silent');
      await mkdir(dir, { recursive: true });
      const argv = [findPython(), '-c', 'import time; time.sleep(600)', '{connection_file}'];
      await writeFile(join(dir, 'kernel.json'), JSON.stringify({ argv, display_name: 'silent', language: 'python' }));
      const own = await startTestServer({ env: { JUPYTER_PATH: path } });
      try {
        const nb = await own.writeNotebook('silent.ipynb', ['1'], {
          kernelspec: { name: 'silent', display_name: 'silent', language: 'python' },
        });
        const t0 = Date.now();
        const { record } = await runOn(own, nb, { startTimeoutMs: 3000, runTimeoutMs: 120_000 });
        const wallMs = Date.now() - t0;
        assert.equal(record.status, 'error');
        assert.equal(record.error?.retryable, true, 'no cell ran: a redelivery may get a kernel that starts');
        assert.match(record.error!.message, /not answered in 30\.0 s|never answered/);
        assert.equal(record.cells.executed, 0);
        assert.ok(wallMs < 60_000, `returned after ${wallMs} ms`);
        assert.deepEqual(await own.kernels(), [], 'the silent kernel is deleted');
      } finally {
        await own.close();
        await rm(path, { recursive: true, force: true });
      }
    },
  );
});
