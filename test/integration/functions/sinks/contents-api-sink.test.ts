/**
 * `server:` sink against a real local Jupyter server: writes into folders that do not exist yet,
 * reads back through the contents API, and a refused token is a failed result that never shows it.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JupyterRest } from '../../../../functions/jupyter/rest.js';
import { writeOutput } from '../../../../functions/sinks/write-output.js';
import { notebookJson, startTestServer, type TestServer } from '../../../helpers/jupyter.js';

const values = { notebook: 'daily.ipynb', runId: 'r-9', date: '2026-01-21T23:49:30.123Z', status: 'succeeded' };

describe('server: sink (real Jupyter server)', () => {
  let server: TestServer;
  let rest: JupyterRest;

  before(async () => {
    server = await startTestServer();
    rest = new JupyterRest({ server: server.address, token: server.token });
  });
  after(async () => {
    await rest?.close();
    await server?.close();
  });

  it('writes a notebook into new nested folders, readable through the contents API', async () => {
    const body = notebookJson(['print("ü ✓")']);
    const r = await writeOutput(
      { template: 'server:/out/{notebook}/{date}-{runId}.ipynb', values, body, kind: 'notebook' },
      { contents: rest },
    );
    assert.deepEqual(r, {
      location: 'server:/out/daily/2026-01-21T23-49-30.123Z-r-9.ipynb',
      ok: true,
      bytes: Buffer.byteLength(body),
      kind: 'notebook',
    });
    assert.equal(await rest.readText('out/daily/2026-01-21T23-49-30.123Z-r-9.ipynb'), body);
    assert.equal(await readFile(join(server.rootDir, 'out/daily/2026-01-21T23-49-30.123Z-r-9.ipynb'), 'utf8'), body);
    const again = await writeOutput(
      { template: 'server:/out/daily/second.html', values, body: '<p>x</p>', kind: 'html' },
      { contents: rest },
    );
    assert.equal(again.ok, true, JSON.stringify(again));
    assert.equal(await readFile(join(server.rootDir, 'out/daily/second.html'), 'utf8'), '<p>x</p>');
  });

  it('a body in pieces (text and bytes) goes out as one streamed request and reads back the same', async () => {
    const chunk = Buffer.from('"quoted" \\ line\n'.repeat(50_000));
    const body = (): Iterable<string | Uint8Array> => ['{"cells": "', chunk, 'ü ✓ ', chunk.subarray(0, 7), '"}'];
    const want = `{"cells": "${chunk.toString()}ü ✓ ${chunk.subarray(0, 7).toString()}"}`;
    const r = await writeOutput(
      { template: 'server:/pieces/{runId}.ipynb', values, body, kind: 'notebook' },
      { contents: rest },
    );
    assert.deepEqual(r, {
      location: 'server:/pieces/r-9.ipynb',
      ok: true,
      bytes: Buffer.byteLength(want),
      kind: 'notebook',
    });
    assert.equal(await readFile(join(server.rootDir, 'pieces/r-9.ipynb'), 'utf8'), want);
  });

  it('a refused token is a failed result that does not show the token', async () => {
    const bad = new JupyterRest({ server: server.address, token: 'wrong-token-123456' });
    try {
      const r = await writeOutput(
        { template: 'server:/x/y.ipynb', values, body: '{}', kind: 'notebook' },
        { contents: bad },
      );
      assert.equal(r.ok, false);
      assert.equal(r.error?.code, 'SINK_FAILED');
      assert.match(r.error?.message ?? '', /HTTP 403|HTTP 401/);
      assert.doesNotMatch(JSON.stringify(r), /wrong-token-123456/);
    } finally {
      await bad.close();
    }
  });

  it('a path under a file is a failed result', async () => {
    await server.writeFile('plain.txt', 'x');
    const r = await writeOutput(
      { template: 'server:/plain.txt/y.ipynb', values, body: '{}', kind: 'notebook' },
      { contents: rest },
    );
    assert.equal(r.ok, false);
    assert.equal(r.location, 'server:/plain.txt/y.ipynb');
  });
});
