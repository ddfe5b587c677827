/**
 * Fault: 20 different runs of ONE notebook at once, each with its own parameters
 * (request.parameters), against one real Jupyter Server. Each result must belong to its own run
 * (no shared state between runs: kernels, sessions, outputs, records), every run must succeed
 * in bounded time, and no kernel may be left.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/jupyter.js';
import { kernelsLeft, recordRow, requestFor, streamText, timedRun } from './common.js';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

const RUNS = 20;
/**
 * Hang bounds, not timings: twenty kernels start at once on the machine's cores, and with the heavy
 * kernels of the CI's second leg (NBTRIGGER_HEAVY: the data-science base imported at start) the last
 * of them answers only after every other start shared the CPU. The test asserts whose result is
 * whose; a start that outlasts its limit would be a retryable infrastructure error, not a wrong result.
 */
const START_LIMIT_MS = 240_000;

/**
 * One run as the function meets it: a retryable failure before any cell ran is redelivered by
 * Pub/Sub, so it is run once more (a kernel that never answered gets a new kernel). The row says how
 * many were; the test server's ipc sockets leave no port race, so it is none in practice.
 */
async function runAsDelivered(
  opts: Parameters<typeof timedRun>[0],
): Promise<{ out: Awaited<ReturnType<typeof timedRun>>; redelivered: boolean }> {
  const out = await timedRun(opts);
  const { record } = out;
  const retry = record.status === 'error' && record.error?.retryable === true && record.cells.executed === 0;
  return retry ? { out: await timedRun(opts), redelivered: true } : { out, redelivered: false };
}

describe('fault: many runs of one notebook at once', () => {
  test(`${RUNS} concurrent runs with different parameters: each result is its own`, {
    timeout: 2 * START_LIMIT_MS + 120_000,
  }, async () => {
    const nb = await server.writeNotebook('shared.ipynb', [
      { source: 'n = 0\nlabel = "default"', tags: ['parameters'] },
      'import os, time\ntime.sleep(0.3)\nprint(f"{label}:{n}:{os.getpid()}")',
      'n * 1000 + 7',
    ]);
    const t0 = Date.now();
    const delivered = await Promise.all(
      Array.from({ length: RUNS }, (_, i) =>
        runAsDelivered({
          request: requestFor(server.hostPort, nb, { parameters: { n: i, label: `run-${i}` } }),
          token: server.token,
          limits: { runTimeoutMs: START_LIMIT_MS + 60_000, startTimeoutMs: START_LIMIT_MS },
        }),
      ),
    );
    const seconds = (Date.now() - t0) / 1000;
    const outs = delivered.map((d) => d.out);
    const redelivered = delivered.filter((d) => d.redelivered).length;
    const left = await kernelsLeft(server);
    const pids = new Set<string>();
    outs.forEach((out, i) => {
      // A failure shows the server's own account (kernel starts, restarts, deaths) beside the run's.
      assert.equal(
        out.record.status,
        'succeeded',
        `run ${i}: ${JSON.stringify(out.record.error)}\nserver log:\n${server.logTail()}`,
      );
      assert.deepEqual(
        out.record.lastResult,
        { 'text/plain': String(i * 1000 + 7) },
        `run ${i} got its own last result`,
      );
      const line = streamText(out, 2).trim();
      const [label, n, pid] = line.split(':');
      assert.equal(label, `run-${i}`, `run ${i} printed ${line}`);
      assert.equal(n, String(i));
      pids.add(pid!);
    });
    assert.equal(pids.size, RUNS, 'each run had its own kernel process');
    assert.equal(left, 0);
    const succeeded = outs.filter((o) => o.record.status === 'succeeded').length;
    recordRow({
      fault: `${RUNS} runs of one notebook at once (own parameters)`,
      expected: `${RUNS} succeeded, own results`,
      observed: `${succeeded} succeeded (${redelivered} redelivered), ${pids.size} kernels, results matched`,
      seconds,
      kernelsLeft: left,
    });
  });
});
