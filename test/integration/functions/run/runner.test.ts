/**
 * Integration: the runner against a real local Jupyter Server with ipykernel (no mocks).
 * Happy paths, outputs, cell errors and tags, pipelined vs sequential, bad notebooks.
 * One server for the whole file; every test checks that no kernel is left behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { IDisplayData, IStream } from '@jupyterlab/nbformat';
import { parseMessage, type RunRequest } from '../../../../functions/request/grammar.js';
import { runNotebook, type RunLimits, type RunOutcome } from '../../../../functions/run/runner.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';

const LIMITS: Partial<RunLimits> = {
  startTimeoutMs: 10_000,
  cellTimeoutMs: 20_000,
  runTimeoutMs: 40_000,
  cleanupTimeoutMs: 10_000,
};
const T = { timeout: 60_000 };

/** A 1×1 PNG. */
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

function request(path: string, extra: Partial<RunRequest> = {}): RunRequest {
  return { ...parseMessage(`${server.hostPort} /${path}`), ...extra };
}

async function run(
  path: string,
  extra: Partial<RunRequest> = {},
  limits: Partial<RunLimits> = {},
): Promise<RunOutcome> {
  const out = await runNotebook({
    request: request(path, extra),
    token: server.token,
    limits: { ...LIMITS, ...limits },
  });
  assert.deepEqual(await server.kernels(), [], 'no kernel is left on the server');
  return out;
}

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

describe('runner: notebooks that cannot run', () => {
  test('a notebook that does not exist: NOTEBOOK_NOT_FOUND', T, async () => {
    const { record, error } = await run('missing/nope.ipynb');
    assert.equal(record.status, 'error');
    assert.equal(error?.code, 'NOTEBOOK_NOT_FOUND');
    assert.equal(record.error?.retryable, false);
    assert.match(record.error!.message, /nope\.ipynb/);
    assert.deepEqual(record.cells, { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 });
  });

  test('a directory named like a notebook: NOTEBOOK_NOT_FOUND naming the directory', T, async () => {
    await server.writeFile('folder.ipynb/inside.txt', 'x');
    const { record } = await run('folder.ipynb');
    assert.equal(record.status, 'error');
    assert.equal(record.error?.code, 'NOTEBOOK_NOT_FOUND');
    assert.match(record.error!.message, /directory/);
    assert.equal(record.error?.retryable, false);
    assert.equal(record.cells.total, 0);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['not-json.ipynb', 'this is not json', /not JSON/],
    [
      'v3.ipynb',
      JSON.stringify({ nbformat: 3, nbformat_minor: 0, metadata: {}, worksheets: [{ cells: [] }] }),
      /no cells/,
    ],
    ['v1.ipynb', JSON.stringify({ nbformat: 1, nbformat_minor: 0, metadata: {}, cells: [] }), /nbformat 4, 3 or 2/],
    ['empty.ipynb', JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] }), /no cells/],
    ['array.ipynb', '[1, 2]', /not a JSON object/],
  ];
  for (const [path, text, why] of bad) {
    test(`BAD_NOTEBOOK: ${path}`, T, async () => {
      await server.writeFile(path, text);
      const { record, error } = await run(path);
      assert.equal(record.status, 'error');
      assert.equal(error?.code, 'BAD_NOTEBOOK');
      assert.equal(record.error?.retryable, false);
      assert.match(record.error!.message, why);
      assert.deepEqual(record.cells, { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 });
      assert.match(record.error!.message, new RegExp(path.replace('.', '\\.')));
    });
  }

  test('a kernelspec the server lacks (request): NO_SUCH_KERNEL listing python3', T, async () => {
    const nb = await server.writeNotebook('kernel.ipynb', ['1']);
    const { record, error } = await run(nb, { kernelName: 'nope' });
    assert.equal(record.status, 'error');
    assert.equal(error?.code, 'NO_SUCH_KERNEL');
    assert.equal(record.kernelName, 'nope');
    assert.match(record.error!.message, /"nope"/);
    assert.match(record.error!.message, /python3/);
    assert.equal(record.error?.retryable, false);
    assert.deepEqual(
      record.cells,
      { total: 1, executed: 0, succeeded: 0, failed: 0, aborted: 1, skipped: 0 },
      'the code cell was not run',
    );
  });

  test('a kernelspec the server lacks (notebook metadata): NO_SUCH_KERNEL', T, async () => {
    const nb = await server.writeNotebook('julia.ipynb', ['1'], {
      kernelspec: { name: 'julia-1.9', display_name: 'Julia', language: 'julia' },
    });
    const { record } = await run(nb);
    assert.equal(record.error?.code, 'NO_SUCH_KERNEL');
    assert.match(record.error!.message, /julia-1\.9.*python3/);
    assert.equal(record.status, 'error');
    assert.equal(record.kernelName, 'julia-1.9');
    const ok = await run(nb, { kernelName: 'python3' });
    assert.equal(ok.record.status, 'succeeded', 'the request overrides the notebook kernelspec');
  });
});
