/**
 * `nbtrigger run --server HOST:PORT` with a notebook that is not the server's file: a relative path
 * and a file:/// URL are read by the command and run on the server's kernels (the record holds the
 * source and its sha256), a plain /path keeps meaning the server's own file.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunRecord } from '../../../../functions/run/record.js';
import { PROJECT_ROOT } from '../../../../cli/project-root.js';
import { runCli } from '../../../helpers/cli.js';
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

  const run = async (nb: string): Promise<RunRecord> => {
    const r = await runCli(['run', '--server', jup.hostPort, '--json', '--output-root', join(dir, 'runs'), nb],
      { env: { JUPYTER_TOKEN: jup.token }, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as RunRecord;
  };

  test('./relative and file:/// paths run the local file and record its sha256', async () => {
    const sha = `sha256:${createHash('sha256').update(await readFile(file)).digest('hex')}`;
    let rel = relative(PROJECT_ROOT, file);
    if (!rel.startsWith('..')) rel = `./${rel}`;
    for (const nb of [rel, `file://${file}`]) {
      const rec = await run(nb);
      assert.equal(rec.lastResult?.['text/plain'], '42', nb);
      assert.deepEqual(rec.source, { url: `file://${file}`, version: sha });
    }
    assert.deepEqual(await jup.kernels(), []);
  });

  test('a plain /path keeps meaning the server\'s file', async () => {
    const rec = await run('/mine.ipynb');
    assert.equal(rec.lastResult?.['text/plain'], "'server copy'");
    assert.equal(rec.source, undefined);
  });
});
