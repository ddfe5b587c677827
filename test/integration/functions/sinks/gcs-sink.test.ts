/**
 * gs:// sink with the real @google-cloud/storage client against a local Cloud Storage JSON-API
 * server (test/helpers/gcs-server.ts): multipart and resumable uploads, reading back with
 * `alt=media`, and failures that become results, never exceptions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:net';
import { Storage } from '@google-cloud/storage';
import type { SinkDeps } from '../../../../functions/sinks/sink.js';
import { writeOutput } from '../../../../functions/sinks/write-output.js';
import { startGcsServer, type GcsServer } from '../../../helpers/gcs-server.js';

const values = { notebook: 'reports/daily.ipynb', runId: 'r-1', date: '2026-01-21T23:49:30.123Z', status: 'succeeded' };

describe('gs:// sink (real client, local JSON-API server)', () => {
  let gcs: GcsServer;
  let deps: SinkDeps;

  before(async () => {
    delete process.env.STORAGE_EMULATOR_HOST;
    gcs = await startGcsServer();
    gcs.createBucket('nbt-out');
    deps = { gcs: { apiEndpoint: gcs.endpoint, projectId: 'nbt-test', timeoutMs: 20_000 } };
  });
  after(() => gcs.close());

  it('uploads a notebook in one multipart request, placeholders expanded, no credentials sent', async () => {
    const body = JSON.stringify({ cells: [], metadata: { note: 'ünïcode ✓' }, nbformat: 4, nbformat_minor: 5 });
    const before = gcs.requests.length;
    const r = await writeOutput(
      { template: 'gs://nbt-out/runs/{notebook}/{date}-{runId}.ipynb', values, body, kind: 'notebook' },
      deps,
    );
    assert.deepEqual(r, {
      location: 'gs://nbt-out/runs/daily/2026-01-21T23-49-30.123Z-r-1.ipynb',
      ok: true,
      bytes: Buffer.byteLength(body),
      kind: 'notebook',
    });
    const o = gcs.get('nbt-out', 'runs/daily/2026-01-21T23-49-30.123Z-r-1.ipynb');
    assert.ok(o, 'object stored');
    assert.equal(o.body.toString('utf8'), body);
    assert.equal(o.contentType, 'application/x-ipynb+json');
    assert.equal(o.metadata.contentType, 'application/x-ipynb+json');
    const sent = gcs.requests.slice(before);
    assert.equal(sent.length, 1, JSON.stringify(sent.map((s) => [s.method, s.path, s.query])));
    assert.equal(sent[0]!.method, 'POST');
    assert.equal(sent[0]!.path, '/upload/storage/v1/b/nbt-out/o');
    assert.equal(sent[0]!.query.uploadType, 'multipart');
    assert.equal(sent[0]!.query.name, 'runs/daily/2026-01-21T23-49-30.123Z-r-1.ipynb');
    assert.match(String(sent[0]!.headers['content-type']), /^multipart\/related; boundary=/);
    assert.equal(sent[0]!.headers.authorization, undefined);
  });

  it(
    'a body in pieces (text and bytes): small ones in one ' +
      'multipart request, large ones streamed into a resumable upload',
    async () => {
      const small = (): Iterable<string | Uint8Array> => ['{"a": "', Buffer.from('ü ✓'), '"}'];
      const r1 = await writeOutput(
        { template: 'gs://nbt-out/pieces/small.ipynb', values, body: small, kind: 'notebook' },
        deps,
      );
      assert.equal(r1.ok, true, JSON.stringify(r1));
      assert.equal(gcs.get('nbt-out', 'pieces/small.ipynb')!.body.toString('utf8'), '{"a": "ü ✓"}');
      assert.equal(r1.bytes, Buffer.byteLength('{"a": "ü ✓"}'));
      // 3 MiB in 1 MiB byte pieces and text between them: past the 1 MiB gather limit, so streamed.
      const chunk = Buffer.alloc(1 << 20, 0x61);
      const big = (): Iterable<string | Uint8Array> => ['[', chunk, 'é', chunk, '"', chunk, ']'];
      const want = `[${'a'.repeat(1 << 20)}é${'a'.repeat(1 << 20)}"${'a'.repeat(1 << 20)}]`;
      const before = gcs.requests.length;
      const r2 = await writeOutput(
        { template: 'gs://nbt-out/pieces/big.ipynb', values, body: big, kind: 'notebook' },
        deps,
      );
      assert.equal(r2.ok, true, JSON.stringify(r2));
      assert.equal(r2.bytes, Buffer.byteLength(want));
      const sent = gcs.requests.slice(before);
      assert.equal(sent[0]!.query.uploadType, 'resumable', 'a large streamed body is a resumable upload');
      assert.equal(gcs.get('nbt-out', 'pieces/big.ipynb')!.body.toString('utf8'), want);
    },
  );

  const resumableUploadTitle =
    'uses a resumable upload at or above the threshold, and the client reads the object back (alt=media)';
  it(resumableUploadTitle, async () => {
    const big = `${'x'.repeat(300_000)}é`;
    const before = gcs.requests.length;
    const r = await writeOutput(
      { template: 'gs://nbt-out/big/{runId}.html', values, body: big, kind: 'html' },
      { gcs: { ...deps.gcs, resumableThresholdBytes: 64 * 1024 } },
    );
    assert.equal(r.ok, true, JSON.stringify(r));
    const sent = gcs.requests.slice(before);
    assert.equal(sent[0]!.method, 'POST');
    assert.equal(sent[0]!.query.uploadType, 'resumable');
    assert.ok(
      sent.some((s) => s.method === 'PUT' && s.query.upload_id),
      'a PUT to the session URI',
    );
    const o = gcs.get('nbt-out', 'big/r-1.html');
    assert.ok(o);
    assert.equal(o.body.toString('utf8'), big);
    assert.equal(o.contentType, 'text/html; charset=utf-8');

    const storage = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'nbt-test' });
    const [bytes] = await storage.bucket('nbt-out').file('big/r-1.html').download();
    assert.equal(bytes.toString('utf8'), big);
    const get = gcs.requests.filter((s) => s.method === 'GET' && s.query.alt === 'media');
    assert.equal(get.at(-1)?.path, '/storage/v1/b/nbt-out/o/big%2Fr-1.html');
  });

  it('retries a transient 503 and then succeeds', async () => {
    gcs.failUploads(1, 503);
    const r = await writeOutput({ template: 'gs://nbt-out/retry.ipynb', values, body: '{}', kind: 'notebook' }, deps);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(gcs.get('nbt-out', 'retry.ipynb')?.body.toString(), '{}');
  });

  it('a missing bucket is a failed result, not an exception', async () => {
    const r = await writeOutput(
      { template: 'gs://no-such-bucket/x/{runId}.ipynb', values, body: '{}', kind: 'notebook' },
      deps,
    );
    assert.equal(r.ok, false);
    assert.equal(r.location, 'gs://no-such-bucket/x/r-1.ipynb');
    assert.equal(r.error?.code, 'SINK_FAILED');
    assert.match(r.error?.message ?? '', /bucket does not exist/);
  });

  it('an unreachable endpoint fails within the timeout', async () => {
    const port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const t0 = Date.now();
    const r = await writeOutput(
      { template: 'gs://nbt-out/x.ipynb', values, body: '{}', kind: 'notebook' },
      { gcs: { apiEndpoint: `http://127.0.0.1:${port}`, timeoutMs: 3000 } },
    );
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'SINK_FAILED');
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
  });
});
