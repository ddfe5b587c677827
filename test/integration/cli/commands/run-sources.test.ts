/**
 * `nbtrigger run --server HOST:PORT` with a notebook that is not the server's file: a relative path
 * and a file:/// URL are read by the command and run on the server's kernels (the record holds the
 * source and its sha256), gs:// (the real client, a local JSON-API server) and http:// too, and a
 * plain /path keeps meaning the server's own file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Storage } from '@google-cloud/storage';
import type { RunRecord } from '../../../../functions/run/record.js';
import { PROJECT_ROOT } from '../../../../cli/project-root.js';
import { runCli } from '../../../helpers/cli.js';
import { startGcsServer } from '../../../helpers/gcs-server.js';
import { notebookJson, startTestServer, type TestServer } from '../../../helpers/jupyter.js';

describe('nbtrigger run --server with a notebook source', { timeout: 180_000 }, () => {
  let jup: TestServer;
  let dir: string;
  let file: string;
  let text: string;

  before(async () => {
    jup = await startTestServer({ token: `tok-${Math.random().toString(36).slice(2)}` });
    dir = await mkdtemp(join(tmpdir(), 'nbt-cli-src-'));
    file = join(dir, 'mine.ipynb');
    text = notebookJson(['v = 7', 'v * 6']);
    await writeFile(file, text);
    await jup.writeNotebook('mine.ipynb', ['"server copy"']);
  });
  after(async () => {
    await jup?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (nb: string, env: Record<string, string> = {}): Promise<RunRecord> => {
    const r = await runCli(['run', '--server', jup.hostPort, '--json', '--output-root', join(dir, 'runs'), nb], {
      env: { JUPYTER_TOKEN: jup.token, ...env },
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as RunRecord;
  };

  test('./relative and file:/// paths run the local file and record its sha256', async () => {
    const sha = `sha256:${createHash('sha256')
      .update(await readFile(file))
      .digest('hex')}`;
    let rel = relative(PROJECT_ROOT, file);
    if (!rel.startsWith('..')) rel = `./${rel}`;
    for (const nb of [rel, `file://${file}`]) {
      const rec = await run(nb);
      assert.equal(rec.lastResult?.['text/plain'], '42', nb);
      assert.deepEqual(rec.source, { url: `file://${file}`, version: sha });
    }
    assert.deepEqual(await jup.kernels(), []);
  });

  test('gs:// and http:// notebooks are read by the command and run on the server', async () => {
    const gcs = await startGcsServer();
    const web = createServer((req, res) => {
      res.writeHead(req.url === '/w/nb.ipynb' ? 200 : 404, { etag: '"w1"' });
      res.end(req.url === '/w/nb.ipynb' ? notebookJson(['"from the web"']) : '');
    });
    try {
      gcs.createBucket('nbt-cli');
      await new Storage({ apiEndpoint: gcs.endpoint, projectId: 'p' })
        .bucket('nbt-cli')
        .file('a/nb.ipynb')
        .save(notebookJson(['"from gcs"']), { resumable: false });
      const fromGcs = await run('gs://nbt-cli/a/nb.ipynb', { STORAGE_EMULATOR_HOST: `${gcs.endpoint}/storage/v1` });
      assert.equal(fromGcs.lastResult?.['text/plain'], "'from gcs'");
      assert.deepEqual(fromGcs.source, {
        url: 'gs://nbt-cli/a/nb.ipynb',
        version: String(gcs.get('nbt-cli', 'a/nb.ipynb')!.generation),
      });
      await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(web.address() as { port: number }).port}/w/nb.ipynb`;
      const fromWeb = await run(url);
      assert.equal(fromWeb.lastResult?.['text/plain'], "'from the web'");
      assert.deepEqual(fromWeb.source, { url, version: '"w1"' });
    } finally {
      web.close();
      await gcs.close();
    }
  });

  test("a plain /path keeps meaning the server's file", async () => {
    const rec = await run('/mine.ipynb');
    assert.equal(rec.lastResult?.['text/plain'], "'server copy'");
    assert.equal(rec.source, undefined);
  });
});
