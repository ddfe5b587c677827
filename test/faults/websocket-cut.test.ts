/**
 * Fault: the kernel WebSocket is cut mid-run by a TCP proxy between the runner and the real
 * Jupyter Server (a network cut; Cloud Run closing it at its request timeout). The runner must
 * reconnect with the same session, get the buffered messages replayed, and finish: outputs
 * complete and in order, nothing twice, no cell run twice, no kernel left. When the kernel is
 * gone by the time it reconnects: KERNEL_DIED, at once.
 *
 * The cells print every 80 ms with 3 s lulls, and the proxy cuts once the server has been quiet
 * for 600 ms (in a lull). That is on purpose: what the server already wrote to a connection that
 * is then cut is lost for good (it buffers only once it notices the close; no protocol can get
 * it back), and on a loaded machine the server may take a while to notice. Cutting in a lull
 * makes "outputs complete" test the runner (reconnect, replay, dedupe), not that window: the
 * lines printed after the cut, while no client is connected, must all come back via the replay.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request as httpRequest } from 'undici';
import type { RunOutcome } from '../../functions/run/runner.js';
import { startTestServer, type TestServer } from '../helpers/jupyter.js';
import { startTcpProxy, type CutOptions, type TcpProxy } from '../helpers/tcp-proxy.js';
import { kernelsLeft, observed, recordRow, requestFor, streamText, T, timedRun } from './common.js';

let server: TestServer;
let proxy: TcpProxy;

before(async () => {
  server = await startTestServer();
  proxy = await startTcpProxy(server.address);
});
after(async () => {
  await proxy?.close();
  await server?.close();
});

/** A notebook whose every cell appends its index to a trace file (a cell run twice shows twice). */
async function tracedNotebook(name: string, bodies: string[]): Promise<{ path: string; trace: () => Promise<string> }> {
  const file = `trace-${randomUUID()}.txt`;
  const cells = bodies.map((b, i) => `with open(${JSON.stringify(file)}, "a") as _f: _f.write("${i}\\n")\n${b}`);
  const path = await server.writeNotebook(`${name}.ipynb`, cells);
  return { path, trace: () => readFile(join(server.rootDir, file), 'utf8').catch(() => '') };
}

/** 25 lines, 80 ms apart, with a 3 s lull after each line in `lulls`. */
function loop(lulls: number[]): string {
  const sleep = `time.sleep(3.0 if i in ${JSON.stringify(lulls)} else 0.08)`;
  return `import time\nfor i in range(25):\n    print(i, flush=True)\n    ${sleep}`;
}
const LOOP = loop([9]);
/** Cut in a lull: once the server has sent nothing for this long. */
const QUIET = 600;
const EXPECTED = Array.from({ length: 25 }, (_, i) => `${i}\n`).join('');

/** Runs `path` through the proxy and cuts the channel `afterMs` after cell `cell` starts. */
async function runWithCut(
  path: string,
  cell: number,
  afterMs: number,
  cut: CutOptions,
  during?: () => Promise<void>,
): Promise<RunOutcome & { seconds: number; cuts: number }> {
  let cuts = 0;
  let cutting: Promise<void> | undefined;
  const out = await timedRun({
    request: requestFor(proxy.hostPort, path),
    token: server.token,
    limits: { runTimeoutMs: 60_000 },
    onProgress: (e) => {
      if (e.type === 'start' && e.cellIndex === cell) {
        cutting = (async () => {
          await new Promise((r) => setTimeout(r, afterMs));
          cuts = await proxy.cut(cut);
          await during?.();
        })();
      }
    },
  });
  await cutting;
  return { ...out, cuts };
}

describe('fault: kernel WebSocket cut mid-run', () => {
  test(
    'cut by the proxy (down 1 s): reconnect with the same session, outputs complete and in order, nothing twice',
    T,
    async () => {
      const nb = await tracedNotebook('cut', ['x = 1', LOOP, '"done"']);
      const before = proxy.accepted;
      const out = await runWithCut(nb.path, 1, 1000, { quietMs: QUIET, downMs: 1000 });
      const left = await kernelsLeft(server);
      assert.ok(out.cuts >= 1, 'the proxy cut a live connection');
      assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
      assert.equal(
        streamText(out, 1),
        EXPECTED,
        'every line once, in order (the lines printed while disconnected were replayed)',
      );
      assert.equal(out.exec!.reconnects, 1);
      assert.ok(
        out.record.warnings.some((w) => /reconnected with the same session/.test(w)),
        JSON.stringify(out.record.warnings),
      );
      assert.deepEqual(
        out.exec!.cells.map((c) => c.executionCount),
        [1, 2, 3],
        'no request ran twice',
      );
      assert.equal(await nb.trace(), '0\n1\n2\n', 'each cell ran exactly once');
      assert.deepEqual(out.record.lastResult, { 'text/plain': "'done'" });
      assert.ok(proxy.accepted > before + 1, 'the runner came back through the proxy');
      assert.equal(left, 0);
      assert.ok(out.seconds < 30, `${out.seconds} s`);
      recordRow({
        fault: 'WebSocket cut mid-run (proxy, down 1 s)',
        expected: 'succeeded, reconnected',
        observed: `${observed(out)}, ${out.exec!.reconnects} reconnect`,
        seconds: out.seconds,
        kernelsLeft: left,
      });
    },
  );

  test(
    "clean close by the front end (close frame 1001, as at Cloud Run's request timeout): reconnect and finish",
    T,
    async () => {
      const nb = await tracedNotebook('close', ['x = 1', LOOP, '"done"']);
      const out = await runWithCut(nb.path, 1, 800, { quietMs: QUIET, closeFrame: true });
      const left = await kernelsLeft(server);
      assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
      assert.equal(streamText(out, 1), EXPECTED);
      assert.equal(out.exec!.reconnects, 1);
      assert.match(out.record.warnings.join('\n'), /1001/);
      assert.equal(await nb.trace(), '0\n1\n2\n');
      assert.equal(left, 0);
      recordRow({
        fault: 'WebSocket closed cleanly by the front end (1001)',
        expected: 'succeeded, reconnected',
        observed: `${observed(out)}, ${out.exec!.reconnects} reconnect`,
        seconds: out.seconds,
        kernelsLeft: left,
      });
    },
  );

  test('pipelined cells queued behind the running one survive two cuts: each runs once', T, async () => {
    const nb = await tracedNotebook('twice', ['x = 1', loop([8, 16]), 'y = 2', 'print("after")', 'x + y']);
    let second: Promise<number> | undefined;
    const out = await runWithCut(nb.path, 1, 300, { quietMs: QUIET, downMs: 300 }, async () => {
      // Past the end of the first lull (3 s), then wait for the second one.
      await new Promise((r) => setTimeout(r, 3000));
      second = proxy.cut({ quietMs: QUIET });
      await second;
    });
    const left = await kernelsLeft(server);
    assert.equal(await second, 1, 'the second cut hit the restored channel');
    assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
    assert.equal(out.exec!.reconnects, 2);
    assert.equal(streamText(out, 1), EXPECTED);
    assert.equal(streamText(out, 3), 'after\n');
    assert.deepEqual(
      out.exec!.cells.map((c) => c.executionCount),
      [1, 2, 3, 4, 5],
    );
    assert.equal(await nb.trace(), '0\n1\n2\n3\n4\n');
    assert.deepEqual(out.record.lastResult, { 'text/plain': '3' });
    assert.equal(left, 0);
  });

  test(
    'cut at an arbitrary moment while output streams: never twice, never out of order, a classified end',
    T,
    async () => {
      const nb = await tracedNotebook('anytime', [
        'x = 1',
        'import time\nfor i in range(40):\n    print(i, flush=True)\n    time.sleep(0.02)',
        '"done"',
      ]);
      const out = await runWithCut(nb.path, 1, 350, { downMs: 200 });
      const left = await kernelsLeft(server);
      const lines = streamText(out, 1)
        .split('\n')
        .filter((l) => l !== '')
        .map(Number);
      for (let i = 1; i < lines.length; i++)
        assert.ok(lines[i]! > lines[i - 1]!, `line ${lines[i]} after ${lines[i - 1]}: no duplicate, in order`);
      // What the server had written to the cut connection may be lost (see the header); the rest is not.
      assert.ok(
        out.record.status === 'succeeded' || out.record.error?.code === 'KERNEL_DIED',
        JSON.stringify(out.record.error),
      );
      const ran = (await nb.trace()).split('\n').filter((l) => l !== '');
      assert.equal(new Set(ran).size, ran.length, `no cell ran twice (trace ${ran.join(',')})`);
      if (out.record.status === 'succeeded') assert.deepEqual(ran, ['0', '1', '2']);
      assert.equal(left, 0);
      assert.ok(out.seconds < 30, `${out.seconds} s`);
      recordRow({
        fault: 'WebSocket cut at an arbitrary moment',
        expected: 'succeeded or KERNEL_DIED; no dup',
        observed: `${observed(out)}, ${lines.length}/40 lines`,
        seconds: out.seconds,
        kernelsLeft: left,
      });
    },
  );

  test('the kernel is deleted while the channel is down: KERNEL_DIED at once, not retried, no hang', T, async () => {
    const nb = await tracedNotebook('gone', ['x = 1', 'import time; time.sleep(30)', 'y = 2']);
    const out = await runWithCut(nb.path, 1, 500, { downMs: 1500 }, async () => {
      // Straight to the server, not through the proxy: someone else shuts the kernel down.
      for (const id of await server.kernels()) {
        const res = await httpRequest(`http://${server.hostPort}/api/kernels/${id}`, {
          method: 'DELETE',
          headers: { authorization: `token ${server.token}` },
        });
        await res.body.dump();
      }
    });
    const left = await kernelsLeft(server);
    assert.equal(out.record.status, 'error');
    assert.equal(out.record.error?.code, 'KERNEL_DIED');
    assert.match(out.record.error!.message, /gone|404|not restored/);
    assert.equal(out.record.error?.retryable, false, 'a cell had started: not retried');
    assert.equal(out.record.error?.cellIndex, 1);
    assert.equal(left, 0);
    assert.ok(out.seconds < 15, `${out.seconds} s: no hang`);
    assert.equal(await nb.trace(), '0\n1\n');
    recordRow({
      fault: 'kernel deleted while the WebSocket is down',
      expected: 'KERNEL_DIED (ack)',
      observed: observed(out),
      seconds: out.seconds,
      kernelsLeft: left,
    });
  });
});
