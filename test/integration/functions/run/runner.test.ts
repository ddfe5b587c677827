/**
 * Integration: the runner against a real local Jupyter Server with ipykernel (no mocks).
 * Happy paths, outputs, cell errors and tags, pipelined vs sequential (notebooks that cannot run:
 * runner-bad-notebooks.test.ts). One server for the whole file; every test checks that no kernel
 * is left behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { IDisplayData, IStream } from '@jupyterlab/nbformat';
import type { RunRequest } from '../../../../functions/request/grammar.js';
import type { RunLimits, RunOutcome } from '../../../../functions/run/runner.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';
import { runOn, T } from './runner-common.js';

/** A 1×1 PNG. */
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

const run = (path: string, extra: Partial<RunRequest> = {}, limits: Partial<RunLimits> = {}): Promise<RunOutcome> =>
  runOn(server, path, extra, limits);

function streams(out: RunOutcome, cell: number): IStream[] {
  return out.exec!.outputs.outputs(cell).filter((o): o is IStream => o.output_type === 'stream');
}

describe('runner: notebooks that run', () => {
  test('hello notebook: last result is 15', T, async () => {
    const nb = await server.writeNotebook('hello.ipynb', ['a = 5', 'b = 10', 'a + b']);
    const { record, error, exec } = await run(nb);
    assert.equal(error, undefined, error?.message);
    assert.equal(record.status, 'succeeded');
    assert.deepEqual(record.lastResult, { 'text/plain': '15' });
    assert.deepEqual(record.cells, { total: 3, executed: 3, succeeded: 3, failed: 0, aborted: 0, skipped: 0 });
    assert.equal(record.kernelName, 'python3');
    assert.equal(record.notebook, 'hello.ipynb');
    assert.equal(record.error, undefined);
    assert.deepEqual(
      exec!.cells.map((c) => c.executionCount),
      [1, 2, 3],
    );
    assert.deepEqual(exec!.outputs.outputs(2), [
      { output_type: 'execute_result', data: { 'text/plain': '15' }, metadata: {}, execution_count: 3 },
    ]);
    assert.ok(!JSON.stringify(record).includes(server.token), 'the token is not in the record');
  });

  test('streams merge per name; display_data PNG; markdown, raw and empty cells skipped', T, async () => {
    const nb = await server.writeNotebook('outputs.ipynb', [
      { type: 'markdown', source: '# Title' },
      'import sys, time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.01)',
      'import sys\nsys.stderr.write("e1\\n"); sys.stderr.flush()\nsys.stderr.write("e2\\n"); sys.stderr.flush()',
      { type: 'raw', source: 'raw text' },
      '   \n',
      `import base64\nfrom IPython.display import Image, display\ndisplay(Image(data=base64.b64decode("${PNG_B64}")))`,
      '',
    ]);
    const { record, error, exec } = await run(nb);
    assert.equal(error, undefined, error?.message);
    assert.equal(record.status, 'succeeded');
    assert.deepEqual(record.cells, { total: 7, executed: 3, succeeded: 3, failed: 0, aborted: 0, skipped: 4 });
    assert.equal(record.lastResult, undefined, 'no execute_result in this notebook');
    // Five flushed stdout messages fold into one stream output.
    assert.deepEqual(streams({ record, exec }, 1), [
      { output_type: 'stream', name: 'stdout', text: '0\n1\n2\n3\n4\n' },
    ]);
    assert.deepEqual(streams({ record, exec }, 2), [{ output_type: 'stream', name: 'stderr', text: 'e1\ne2\n' }]);
    const shown = exec!.outputs.outputs(5);
    assert.equal(shown.length, 1);
    const d = shown[0] as IDisplayData;
    assert.equal(d.output_type, 'display_data');
    assert.equal(String(d.data['image/png']).replace(/\s/g, ''), PNG_B64);
    assert.ok(typeof d.data['text/plain'] === 'string');
    for (const skipped of [0, 3, 4, 6]) assert.deepEqual(exec!.outputs.outputs(skipped), []);
  });

  test('the kernel runs in the notebook folder (relative paths work)', T, async () => {
    await server.writeFile('sub/dir/data.txt', 'beside the notebook');
    const nb = await server.writeNotebook('sub/dir/cwd.ipynb', [
      'import os\nprint(os.path.basename(os.getcwd()))',
      'open("data.txt").read()',
    ]);
    const { record, error, exec } = await run(nb);
    assert.equal(error, undefined, error?.message);
    assert.deepEqual(exec!.outputs.outputs(0), [{ output_type: 'stream', name: 'stdout', text: 'dir\n' }]);
    assert.deepEqual(record.lastResult, { 'text/plain': "'beside the notebook'" });
  });

  test('100 cells pipelined and sequential give identical outputs and execution counts', {
    timeout: 90_000,
  }, async () => {
    const cells = Array.from(
      { length: 100 },
      (_, i) => `x${i} = ${i} * 2\nprint("cell", ${i}, flush=True)\nx${i} + (x${i - 1} if ${i} else 0)`,
    );
    const nb = await server.writeNotebook('hundred.ipynb', cells);
    const piped = await run(nb);
    const seq = await run(nb, { sequential: true });
    for (const out of [piped, seq]) {
      assert.equal(out.error, undefined, out.error?.message);
      assert.equal(out.record.status, 'succeeded');
      assert.deepEqual(out.record.cells, {
        total: 100,
        executed: 100,
        succeeded: 100,
        failed: 0,
        aborted: 0,
        skipped: 0,
      });
      assert.deepEqual(out.record.lastResult, { 'text/plain': String(99 * 2 + 98 * 2) });
    }
    assert.deepEqual(
      piped.exec!.cells.map((c) => c.executionCount),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      seq.exec!.cells.map((c) => c.executionCount),
      piped.exec!.cells.map((c) => c.executionCount),
    );
    for (let i = 0; i < 100; i++) {
      const expected = [
        { output_type: 'stream', name: 'stdout', text: `cell ${i}\n` },
        {
          output_type: 'execute_result',
          data: { 'text/plain': String(i * 2 + (i ? (i - 1) * 2 : 0)) },
          metadata: {},
          execution_count: i + 1,
        },
      ];
      assert.deepEqual(piped.exec!.outputs.outputs(i), expected, `pipelined cell ${i}`);
      assert.deepEqual(seq.exec!.outputs.outputs(i), expected, `sequential cell ${i}`);
    }
  });
});

describe('runner: cell errors and tags', () => {
  test('an error in cell 2 of 5 fails the run and aborts the later cells', T, async () => {
    const nb = await server.writeNotebook('error.ipynb', [
      'x = 1',
      { type: 'markdown', source: 'text' },
      'raise ValueError("boom")',
      'y = 2',
      'print("never")',
    ]);
    const { record, error, exec } = await run(nb);
    assert.equal(record.status, 'failed');
    assert.equal(error?.code, 'CELL_ERROR');
    assert.equal(record.error?.code, 'CELL_ERROR');
    assert.equal(record.error?.cellIndex, 2);
    assert.equal(record.error?.ename, 'ValueError');
    assert.equal(record.error?.evalue, 'boom');
    assert.ok(Array.isArray(record.error?.traceback) && record.error!.traceback.some((l) => l.includes('ValueError')));
    assert.equal(record.error?.retryable, false);
    assert.deepEqual(record.cells, { total: 5, executed: 2, succeeded: 1, failed: 1, aborted: 2, skipped: 1 });
    assert.deepEqual(
      exec!.cells.map((c) => [c.index, c.status]),
      [
        [0, 'ok'],
        [2, 'error'],
        [3, 'aborted'],
        [4, 'aborted'],
      ],
    );
    assert.equal(exec!.outputs.outputs(2)[0]?.output_type, 'error');
    assert.deepEqual(exec!.outputs.outputs(4), []);
    assert.deepEqual(record.warnings, []);
  });

  test('the same error sent sequentially: same record, later cells never sent', T, async () => {
    const nb = await server.writeNotebook('error-seq.ipynb', ['x = 1', 'raise ValueError("boom")', 'y = 2']);
    const { record } = await run(nb, { sequential: true });
    assert.equal(record.status, 'failed');
    assert.equal(record.error?.cellIndex, 1);
    assert.deepEqual(record.cells, { total: 3, executed: 2, succeeded: 1, failed: 1, aborted: 1, skipped: 0 });
  });

  test('raises-exception may raise; skip-execution is not run', T, async () => {
    const nb = await server.writeNotebook('tags.ipynb', [
      { source: 'raise KeyError("allowed")', tags: ['raises-exception'] },
      { source: 'raise RuntimeError("must not run")', tags: ['skip-execution'] },
      'after = "ran"\nafter',
    ]);
    for (const sequential of [false, true]) {
      const { record, error, exec } = await run(nb, { sequential });
      assert.equal(error, undefined, error?.message);
      assert.equal(record.status, 'succeeded');
      assert.deepEqual(record.lastResult, { 'text/plain': "'ran'" });
      assert.deepEqual(
        exec!.cells.map((c) => [c.index, c.status]),
        [
          [0, 'error'],
          [1, 'skipped'],
          [2, 'ok'],
        ],
      );
      assert.equal(exec!.cells[0]!.error?.ename, 'KeyError');
      assert.equal(record.cells.skipped, 1);
      assert.equal(record.cells.aborted, 0);
      assert.equal(record.cells.total, 3);
      assert.equal(record.cells.executed, 2);
    }
  });
});
