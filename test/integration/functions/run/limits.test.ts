/**
 * Integration: output limits against a real local Jupyter Server with ipykernel. The server's
 * iopub data rate limit (a server started with a low limit) must surface as a record warning;
 * nbtrigger's own per-cell output cap must truncate and warn.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { IDisplayData, IStream } from '@jupyterlab/nbformat';
import { TRUNCATION_NOTE } from '../../../../functions/notebook/outputs.js';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { runNotebook, type RunLimits, type RunOutcome } from '../../../../functions/run/runner.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';

const LIMITS: Partial<RunLimits> = { startTimeoutMs: 10_000, cellTimeoutMs: 20_000, runTimeoutMs: 40_000 };
const T = { timeout: 45_000 };

async function run(server: TestServer, path: string, limits: Partial<RunLimits> = {}): Promise<RunOutcome> {
  const out = await runNotebook({
    request: parseMessage(`${server.hostPort} /${path}`),
    token: server.token,
    limits: { ...LIMITS, ...limits },
  });
  assert.deepEqual(await server.kernels(), [], 'no kernel is left on the server');
  return out;
}

describe('the server iopub rate limit', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      args: ['--ServerApp.iopub_data_rate_limit=20000', '--ServerApp.rate_limit_window=0.5'],
    });
  });
  after(async () => {
    await server?.close();
  });

  test('dropped output is a warning in the record, once per cell; the run still succeeds', T, async () => {
    const nb = await server.writeNotebook('flood.ipynb', [
      'print("small")',
      // Two floods, with a pause longer than the window between them: the server warns twice.
      'import time\nfor burst in range(2):\n    for i in range(200): ' +
        'print("x" * 1000, flush=True)\n    time.sleep(1.2)',
      'import time; time.sleep(1.2)\n"after"',
    ]);
    const { record, error, exec } = await run(server, nb);
    assert.equal(error, undefined, error?.message);
    assert.equal(record.status, 'succeeded');
    assert.deepEqual(record.cells, { total: 3, executed: 3, succeeded: 3, failed: 0, aborted: 0, skipped: 0 });
    assert.deepEqual(record.lastResult, { 'text/plain': "'after'" });
    const rate = record.warnings.filter((w) => /rate limit/i.test(w));
    assert.equal(rate.length, 1, `one rate-limit warning: ${JSON.stringify(record.warnings)}`);
    assert.match(rate[0]!, /^cell 1:/);
    const text = exec!.outputs
      .outputs(1)
      .filter((o): o is IStream => o.output_type === 'stream')
      .map((o) => String(o.text))
      .join('');
    assert.match(text, /IOPub data rate exceeded/);
    assert.ok(text.length < 2 * 200 * 1001, 'some output was dropped by the server');
  });
});

describe('the per-cell output cap', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  // 300 flushed prints: past the cap many times over, and fewer messages than the kernel's iopub queue
  // holds, so a busy machine's slow server cannot make ZeroMQ drop any (that loss is a fault test of
  // its own: test/faults/iopub-loss.test.ts).
  test('a cell printing 1 MB keeps at most the cap, with a warning', T, async () => {
    const nb = await server.writeNotebook('big.ipynb', [
      'print("x" * 1_000_000)',
      'for i in range(300): print("y" * 999, flush=True)',
      'print("small")',
      '"done"',
    ]);
    const { record, error, exec } = await run(server, nb, { maxOutputChars: 10_000 });
    assert.equal(error, undefined, error?.message);
    assert.equal(record.status, 'succeeded');
    assert.deepEqual(record.lastResult, { 'text/plain': "'done'" });
    for (const cell of [0, 1]) {
      const outs = exec!.outputs.outputs(cell) as IStream[];
      const size = outs.reduce((n, o) => n + String(o.text).length, 0);
      assert.ok(size <= 10_000 + TRUNCATION_NOTE.length, `cell ${cell} kept ${size} characters`);
      assert.ok(size >= 9_000, `cell ${cell} kept up to the cap (${size})`);
      assert.ok(String(outs[outs.length - 1]!.text).endsWith(TRUNCATION_NOTE));
      assert.equal(exec!.outputs.truncated(cell), true);
    }
    assert.deepEqual(exec!.outputs.outputs(2), [{ output_type: 'stream', name: 'stdout', text: 'small\n' }]);
    const truncated = record.warnings.filter((w) => /truncated/.test(w));
    assert.deepEqual(
      truncated.map((w) => w.slice(0, 7)),
      ['cell 0:', 'cell 1:'],
    );
  });

  test('one huge frame of escaped text is cut before it is decoded, and still marked truncated', T, async () => {
    // 1 MB of "é" is one iopub frame of ~6 MB of JSON escapes: the channel keeps only what the cap can.
    const nb = await server.writeNotebook('accents.ipynb', ['import sys\nsys.stdout.write("é" * 1_000_000)', '"done"']);
    const { record, exec } = await run(server, nb, { maxOutputChars: 10_000 });
    assert.equal(record.status, 'succeeded');
    const outs = exec!.outputs.outputs(0) as IStream[];
    const text = outs.map((o) => String(o.text)).join('');
    assert.match(text, /^é+/);
    assert.ok(text.length <= 10_000 + TRUNCATION_NOTE.length);
    assert.ok(text.endsWith(TRUNCATION_NOTE), 'the cut is noted in the cell');
    assert.equal(exec!.outputs.truncated(0), true);
    assert.ok(
      record.warnings.some((w) => /cell 0: output truncated/.test(w)),
      JSON.stringify(record.warnings),
    );
  });

  test(
    'the kernels nbtrigger starts send a big print as messages of at most 1 MiB; the cell gets it whole',
    T,
    async () => {
      const nb = await server.writeNotebook('chunks.ipynb', ['print("z" * 5_000_000)']);
      const sizes: number[] = [];
      const log = {
        debugEnabled: true,
        child: () => log,
        log: (_s: string, _m: string, f?: Record<string, unknown>) => {
          // DEBUG lines clip the text and say how long it was.
          if (f?.msgType === 'stream' && typeof f.textLength === 'number') sizes.push(f.textLength);
        },
      };
      const out = await runNotebook({
        request: { ...parseMessage(`${server.hostPort} /${nb}`), verbose: true },
        token: server.token,
        log,
        limits: LIMITS,
      });
      assert.equal(out.record.status, 'succeeded');
      assert.ok(
        sizes.length >= 5 && Math.max(...sizes) <= 1 << 20,
        `stream messages of ${sizes.join(', ')} characters`,
      );
      const text = (out.exec!.outputs.outputs(0) as IStream[]).map((o) => String(o.text)).join('');
      assert.equal(text, `${'z'.repeat(5_000_000)}\n`);
    },
  );

  test('a 1 MB display_data is not kept whole', T, async () => {
    const nb = await server.writeNotebook('bigdisplay.ipynb', [
      'from IPython.display import display, HTML\ndisplay(HTML("<p>" + "z" * 1_000_000 + "</p>"))',
    ]);
    const { record, exec } = await run(server, nb, { maxOutputChars: 10_000 });
    assert.equal(record.status, 'succeeded');
    const outs = exec!.outputs.outputs(0);
    assert.ok(
      !outs.some(
        (o) => o.output_type === 'display_data' && String((o as IDisplayData).data['text/html']).length > 10_000,
      ),
    );
    assert.equal(exec!.outputs.truncated(0), true);
    assert.ok(
      record.warnings.some((w) => /cell 0: output truncated/.test(w)),
      JSON.stringify(record.warnings),
    );
  });
});

describe('the notebook read is bounded', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  test(
    'a notebook over maxNotebookBytes, too many cells, a cell source ' +
      'over its cap: BAD_NOTEBOOK naming the cap, no kernel left',
    T,
    async () => {
      const nb = await server.writeNotebook('capped.ipynb', ['1', `"${'y'.repeat(50_000)}"`]);
      const size = await run(server, nb, { maxNotebookBytes: 20_000 });
      assert.equal(size.error?.code, 'BAD_NOTEBOOK');
      assert.match(
        size.error!.message,
        /"capped\.ipynb" is larger than the cap of 20000 bytes \(NBTRIGGER_MAX_NOTEBOOK_BYTES\)/,
      );
      const cells = await run(server, nb, { maxCells: 1 });
      assert.match(cells.error!.message, /has 2 cells, more than the cap of 1/);
      const source = await run(server, nb, { maxCellSourceChars: 1000 });
      assert.match(source.error!.message, /cell 1 source is 50002 characters, more than the cap of 1000/);
      const fits = await run(server, nb, { maxNotebookBytes: 200_000, maxCells: 2, maxCellSourceChars: 50_002 });
      assert.equal(fits.record.status, 'succeeded', fits.error?.message);
    },
  );
});
