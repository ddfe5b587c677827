/**
 * Integration: notebooks the runner cannot run, against a real local Jupyter Server with ipykernel:
 * a missing notebook, a directory named like one, files that are not nbformat 4 (or 3, 2), and a
 * kernelspec the server lacks. Each is a permanent error naming what is wrong, with no kernel left
 * behind. The notebooks that run are in runner.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunRequest } from '../../../../functions/request/grammar.js';
import type { RunLimits, RunOutcome } from '../../../../functions/run/runner.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';
import { runOn, T } from './runner-common.js';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

const run = (path: string, extra: Partial<RunRequest> = {}, limits: Partial<RunLimits> = {}): Promise<RunOutcome> =>
  runOn(server, path, extra, limits);

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
