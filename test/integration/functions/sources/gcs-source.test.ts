/**
 * gs:// notebook sources with the real @google-cloud/storage client against the repo's local
 * JSON-API server: the generation is recorded, an overwritten object runs its new version, a
 * missing one is NOTEBOOK_NOT_FOUND; through the served function, a gs:// message runs end to end
 * and one outside ALLOWED_SOURCES is refused before the storage server sees any request.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { NbtError } from '../../../../functions/errors.js';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { finishRun } from '../../../../functions/run/finish.js';
import { runNotebook } from '../../../../functions/run/runner.js';
import { resolveSourceDir } from '../../../../functions/sinks/location.js';
import { sourceFolder } from '../../../../functions/sources/source-ref.js';
import { gcsSource } from '../../../../functions/sources/gcs-source.js';
import {
  binaryEvent,
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
} from '../../../helpers/functions-framework.js';
import { startGcsServer, type GcsServer } from '../../../helpers/gcs-server.js';
import { notebookJson, startTestServer, type TestServer } from '../../../helpers/jupyter.js';

describe('gs:// notebook source', { timeout: 240_000 }, () => {
  let gcs: GcsServer;
  let jup: TestServer;
  let put: (name: string, text: string) => Promise<void>;

  before(async () => {
    delete process.env.STORAGE_EMULATOR_HOST;
    gcs = await startGcsServer();
    gcs.createBucket('nbt-src');
    const storage = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'nbt-test' });
    put = async (name, text) => {
      await storage
        .bucket('nbt-src')
        .file(name)
        .save(text, { resumable: false, contentType: 'application/x-ipynb+json' });
    };
    jup = await startTestServer({ token: `tok-${Math.random().toString(36).slice(2)}` });
  });
  after(async () => {
    await jup?.close();
    await gcs?.close();
  });

  const run = (ref: string) => {
    const request = parseMessage(`${jup.hostPort} ${ref}`);
    assert.equal(request.source?.kind, 'gcs');
    const s = request.source as { bucket: string; object: string };
    return runNotebook({
      request,
      token: jup.token,
      notebookSource: gcsSource(s.bucket, s.object, { apiEndpoint: gcs.endpoint }),
    });
  };

  test('runs the object and records its generation; an overwrite runs the new version', async () => {
    await put('nbs/v.ipynb', notebookJson(['x = 20', 'x + 1']));
    const first = await run('gs://nbt-src/nbs/v.ipynb');
    assert.equal(first.record.status, 'succeeded', JSON.stringify(first.record.error));
    assert.equal(first.record.lastResult?.['text/plain'], '21');
    const g1 = String(gcs.get('nbt-src', 'nbs/v.ipynb')!.generation);
    assert.deepEqual(first.record.source, { url: 'gs://nbt-src/nbs/v.ipynb', version: g1 });
    assert.equal(first.record.notebook, 'gs://nbt-src/nbs/v.ipynb');

    await put('nbs/v.ipynb', notebookJson(['x = 40', 'x + 2']));
    const second = await run('gs://nbt-src/nbs/v.ipynb');
    assert.equal(second.record.lastResult?.['text/plain'], '42');
    const g2 = String(gcs.get('nbt-src', 'nbs/v.ipynb')!.generation);
    assert.notEqual(g2, g1);
    assert.equal(second.record.source?.version, g2);
    // Nothing was read through the server's contents API, and no kernel is left.
    assert.deepEqual(await jup.kernels(), []);
  });

  test('{sourceDir}: the executed notebook is written next to the source object', async () => {
    await put('nbs/side/w.ipynb', notebookJson(['"written"']));
    const out = await run('gs://nbt-src/nbs/side/w.ipynb');
    const request = parseMessage(`${jup.hostPort} gs://nbt-src/nbs/side/w.ipynb`);
    const output = resolveSourceDir('{sourceDir}/out/{notebook}.ipynb', sourceFolder(request.source));
    const record = await finishRun({
      outcome: out,
      request,
      runId: 'r1',
      token: jup.token,
      output,
      html: true,
      sinkDeps: { gcs: { apiEndpoint: gcs.endpoint, projectId: 'nbt-test' } },
    });
    assert.deepEqual(record.outputs, {
      notebook: 'gs://nbt-src/nbs/side/out/w.ipynb',
      html: 'gs://nbt-src/nbs/side/out/w.html',
    });
    assert.match(gcs.get('nbt-src', 'nbs/side/out/w.ipynb')!.body.toString('utf8'), /written/);
  });

  test('a missing object is NOTEBOOK_NOT_FOUND (permanent), and no kernel is left', async () => {
    const out = await run('gs://nbt-src/nbs/missing.ipynb');
    assert.equal(out.record.error?.code, 'NOTEBOOK_NOT_FOUND', JSON.stringify(out.record.error));
    assert.equal(out.record.error?.retryable, false);
    assert.deepEqual(await jup.kernels(), []);
  });

  test('an object past the cap is refused from its metadata, before its content is asked for', async () => {
    await put('nbs/big.ipynb', notebookJson(['1', `"${'x'.repeat(4000)}"`]));
    const seen = gcs.requests.length;
    const source = gcsSource('nbt-src', 'nbs/big.ipynb', { apiEndpoint: gcs.endpoint });
    await assert.rejects(
      source.read(new AbortController().signal, 1000),
      (e: unknown) => e instanceof NbtError && e.code === 'BAD_NOTEBOOK' && /cap of 1000 bytes/.test(e.message),
    );
    assert.ok(!gcs.requests.slice(seen).some((r) => r.query.alt === 'media'), 'no content download');
  });

  describe('through the served function', () => {
    let ff: FunctionServer;
    before(async () => {
      ff = await startFunctionServer({
        env: {
          // The client takes STORAGE_EMULATOR_HOST as its JSON-API base URL, path included.
          JUPYTER_TOKEN: jup.token,
          STORAGE_EMULATOR_HOST: `${gcs.endpoint}/storage/v1`,
          ALLOWED_SOURCES: 'gs://nbt-src/nbs/',
          NBTRIGGER_STORE: 'none',
          ALLOWED_OUTPUTS: 'gs://nbt-src/nbs/done',
        },
      });
    });
    after(async () => ff?.stop());

    const invoke = async (text: string): Promise<{ status: number; final: FinalLine }> => {
      const req = binaryEvent({ text });
      const res = await ff.post(req);
      const final = (await ff.waitForLine((l) => l.eventId === req.id && isFinal(l), 10_000)) as FinalLine;
      return { status: res.status, final };
    };

    test(
      'a gs:// message runs end to end: the record holds the ' +
        'source and its generation, the executed notebook is written',
      async () => {
        await put('nbs/e2e.ipynb', notebookJson(['import os', '6 * 7']));
        const { status, final } = await invoke(
          JSON.stringify({
            server: jup.hostPort,
            notebook: 'gs://nbt-src/nbs/e2e.ipynb',
            output: 'done/{notebook}.ipynb',
          }),
        );
        assert.equal(status, 204);
        const r = final.record as FinalLine['record'] & {
          source?: { url: string; version: string };
          outputs?: { notebook?: string };
        };
        assert.equal(r.status, 'succeeded', JSON.stringify(r));
        assert.equal(r.lastResult?.['text/plain'], '42');
        assert.deepEqual(r.source, {
          url: 'gs://nbt-src/nbs/e2e.ipynb',
          version: String(gcs.get('nbt-src', 'nbs/e2e.ipynb')!.generation),
        });
        assert.equal(r.outputs?.notebook, join(ff.runsDir, 'done', 'e2e.ipynb'));
        const written = JSON.parse(await readFile(r.outputs!.notebook!, 'utf8')) as { cells: unknown[] };
        assert.equal(written.cells.length, 2);
      },
    );

    test('a source outside ALLOWED_SOURCES is refused before any request to Cloud Storage', async () => {
      const seen = gcs.requests.length;
      const { status, final } = await invoke(`${jup.hostPort} gs://nbt-src/secret/x.ipynb`);
      assert.equal(status, 204, 'permanent: acknowledged');
      assert.equal(final.record.error?.code, 'SOURCE_NOT_ALLOWED', JSON.stringify(final.record));
      assert.equal(gcs.requests.length, seen, 'the storage server saw no request');
      assert.deepEqual(await jup.kernels(), []);
    });

    test('a server: output with a gs:// source is a bad message, refused before any read', async () => {
      const seen = gcs.requests.length;
      const { status, final } = await invoke(
        JSON.stringify({
          server: jup.hostPort,
          notebook: 'gs://nbt-src/nbs/e2e.ipynb',
          output: 'server:/out/x.ipynb',
        }),
      );
      assert.equal(status, 204);
      assert.equal(final.record.error?.code, 'BAD_MESSAGE');
      assert.match(final.record.error?.message ?? '', /server's own file/);
      assert.equal(gcs.requests.length, seen);
    });
  });
});
