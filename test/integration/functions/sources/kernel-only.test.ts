/**
 * A local notebook on a kernel-only server: a real Jupyter Server behind a front that answers 404 to
 * everything but kernels and kernelspecs (as a Kernel Gateway has no contents, files or nbconvert).
 * The run reads the notebook itself, renders HTML with the built-in renderer, refuses a `server:`
 * output with a clear message, and deletes its kernel; the front sees no contents/files/nbconvert call.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { finishRun } from '../../../../functions/run/finish.js';
import { runNotebook } from '../../../../functions/run/runner.js';
import { fileSource } from '../../../../functions/sources/file-source.js';
import { parseSourceRef, type ExternalRef } from '../../../../functions/sources/source-ref.js';
import { startHttpFront, type HttpFront } from '../../../helpers/http-front.js';
import { notebookJson, startTestServer, type TestServer } from '../../../helpers/jupyter.js';

describe('a local notebook on a kernel-only server', { timeout: 180_000 }, () => {
  let jup: TestServer;
  let front: HttpFront;
  let dir: string;
  const refused: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbt-kernel-only-'));
    jup = await startTestServer({ token: `tok-${Math.random().toString(36).slice(2)}` });
    front = await startHttpFront(
      { host: '127.0.0.1', port: jup.address.port },
      {
        route: (req, res) => {
          if (/^\/api\/(kernels|kernelspecs)(\/|\?|$)/.test(req.url ?? '')) return false;
          refused.push(`${req.method} ${req.url}`);
          res.writeHead(404, { 'content-type': 'text/html' });
          res.end('<html>Not Found</html>');
          return true;
        },
      },
    );
  });
  after(async () => {
    await front?.close();
    await jup?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('runs: last result, outputs, built-in HTML, server: output refused, no kernel left', async () => {
    const file = join(dir, 'local.ipynb');
    await writeFile(file, notebookJson(['import os', 'print("from a file")', 'sum(range(5))']));
    const ref = parseSourceRef(`file://${file}`) as ExternalRef & { kind: 'file' };
    const request = {
      server: { host: '127.0.0.1', port: front.port, secure: false },
      notebook: ref.url,
      source: ref,
      kernelOnly: true,
      verbose: false,
      timeouts: {},
    };
    const outcome = await runNotebook({
      request,
      token: jup.token,
      notebookSource: fileSource(ref.path, ref.url),
      deferCleanup: true,
    });
    try {
      assert.equal(outcome.record.status, 'succeeded', JSON.stringify(outcome.record.error));
      assert.equal(outcome.record.lastResult?.['text/plain'], '10');
      assert.match(outcome.record.source?.version ?? '', /^sha256:[0-9a-f]{64}$/);
      const record = await finishRun({
        outcome,
        request,
        runId: 'r1',
        token: jup.token,
        output: join(dir, 'out', '{notebook}.ipynb'),
        html: true,
      });
      assert.equal(record.outputs?.notebook, join(dir, 'out', 'local.ipynb'));
      const executed = JSON.parse(await readFile(record.outputs!.notebook!, 'utf8')) as {
        cells: Array<{ outputs?: Array<{ text?: string[] | string }> }>;
      };
      assert.match(JSON.stringify(executed.cells[1]!.outputs), /from a file/);
      const html = await readFile(record.outputs!.html!, 'utf8');
      assert.match(html, /from a file/);

      const onServer = await finishRun({
        outcome,
        request,
        runId: 'r2',
        token: jup.token,
        output: 'server:/out/x.ipynb',
      });
      assert.equal(onServer.outputs, undefined);
      assert.match(onServer.outputErrors?.[0]?.message ?? '', /nothing is written to the server's files/);
    } finally {
      await outcome.cleanup;
    }
    assert.deepEqual(refused, [], 'no contents, files or nbconvert request reached the front');
    assert.deepEqual(await jup.kernels(), []);
  });

  test('a server path on a kernel-only server: NOTEBOOK_NOT_FOUND saying the server has no contents API', async () => {
    await jup.writeNotebook('there.ipynb', ['1']);
    const request = {
      server: { host: '127.0.0.1', port: front.port, secure: false },
      notebook: 'there.ipynb',
      verbose: false,
      timeouts: {},
    };
    const out = await runNotebook({ request, token: jup.token });
    assert.equal(out.record.error?.code, 'NOTEBOOK_NOT_FOUND');
    assert.match(out.record.error?.message ?? '', /no contents API \(kernel-only\)/);
    assert.deepEqual(await jup.kernels(), []);
  });
});
