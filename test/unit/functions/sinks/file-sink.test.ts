import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { htmlLocationFor, summarizeResults, writeOutput } from '../../../../functions/sinks/write-output.js';

const values = { notebook: 'daily.ipynb', runId: 'r1', date: '2026-01-21T23:49:30.123Z', status: 'succeeded' };

describe('file sink and writeOutput', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbt-sink-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes under the base dir, creating folders, leaving no temporary file', async () => {
    const body = '{"cells": [], "ü": "✓"}';
    const r = await writeOutput(
      { template: 'runs/{notebook}/{date}-{runId}.ipynb', values, body, kind: 'notebook' },
      { baseDir: dir },
    );
    const path = join(dir, 'runs/daily/2026-01-21T23-49-30.123Z-r1.ipynb');
    assert.deepEqual(r, { location: path, ok: true, bytes: Buffer.byteLength(body), kind: 'notebook' });
    assert.equal(await readFile(path, 'utf8'), body);
    assert.deepEqual(await readdir(join(dir, 'runs/daily')), ['2026-01-21T23-49-30.123Z-r1.ipynb']);
    const html = await writeOutput({
      template: htmlLocationFor(r.location),
      values,
      body: new TextEncoder().encode('<p>x</p>'),
      kind: 'html',
    });
    assert.equal(html.ok, true);
    assert.equal(await readFile(join(dir, 'runs/daily/2026-01-21T23-49-30.123Z-r1.html'), 'utf8'), '<p>x</p>');
  });

  it('writes a body given in pieces (text and bytes), counting bytes, atomically', async () => {
    const body = (): Iterable<string | Uint8Array> => [
      '{"a": "',
      Buffer.from('ü'.repeat(300_000)),
      '✓',
      new TextEncoder().encode('"}'),
    ];
    const want = `{"a": "${'ü'.repeat(300_000)}✓"}`;
    const r = await writeOutput({ template: 'pieces/{runId}.ipynb', values, body, kind: 'notebook' }, { baseDir: dir });
    assert.deepEqual(r, {
      location: join(dir, 'pieces/r1.ipynb'),
      ok: true,
      bytes: Buffer.byteLength(want),
      kind: 'notebook',
    });
    assert.equal(await readFile(join(dir, 'pieces/r1.ipynb'), 'utf8'), want);
    assert.deepEqual(await readdir(join(dir, 'pieces')), ['r1.ipynb']);
  });

  it('a piece source that throws midway is a failed result and leaves no file', async () => {
    const body = function* broken(): Generator<string> {
      yield '{"a": ';
      throw new Error('serializer broke');
    };
    const r = await writeOutput({ template: 'broken/x.ipynb', values, body, kind: 'notebook' }, { baseDir: dir });
    assert.equal(r.ok, false);
    assert.match(r.error!.message, /serializer broke/);
    assert.deepEqual(await readdir(join(dir, 'broken')), []);
  });

  it(
    'confined to a folder: paths and symbolic links leading out of it are failed writes, ' + 'nothing written outside',
    async () => {
      const runs = join(dir, 'confined');
      const outside = join(dir, 'outside');
      await mkdir(outside, { recursive: true });
      await mkdir(runs, { recursive: true });
      await symlink(outside, join(runs, 'escape'));
      const deps = { baseDir: runs, confineTo: runs };
      const ok = await writeOutput({ template: 'fine/{runId}.ipynb', values, body: '{}', kind: 'notebook' }, deps);
      assert.deepEqual([ok.ok, ok.location], [true, join(runs, 'fine/r1.ipynb')]);
      for (const template of [
        'escape/x.ipynb',
        'escape/deeper/x.ipynb',
        '../outside/y.ipynb',
        '/tmp/never-written-by-nbtrigger.ipynb',
      ]) {
        const r = await writeOutput({ template, values, body: '{}', kind: 'notebook' }, deps);
        assert.equal(r.ok, false, template);
        assert.match(r.error!.message, /outside/, template);
      }
      assert.deepEqual(await readdir(outside), [], 'nothing was written, and no folder made, through the link');
    },
  );

  it('a write that fails is a result, not an exception', async () => {
    await writeFile(join(dir, 'blocker'), 'a file, not a folder');
    const r = await writeOutput(
      { template: 'blocker/x.ipynb', values, body: '{}', kind: 'notebook' },
      { baseDir: dir },
    );
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'SINK_FAILED');
    assert.equal(r.location, join(dir, 'blocker/x.ipynb'));
    assert.match(r.error?.message ?? '', /ENOTDIR|EEXIST|not a directory/);
  });

  it('a bad template or location is a USAGE result', async () => {
    const a = await writeOutput({ template: 'x/{nope}.ipynb', values, body: '{}', kind: 'notebook' }, { baseDir: dir });
    assert.equal(a.ok, false);
    assert.equal(a.error?.code, 'USAGE');
    const b = await writeOutput(
      { template: 's3://b/{runId}.ipynb', values, body: '{}', kind: 'notebook' },
      { baseDir: dir },
    );
    assert.deepEqual([b.ok, b.error?.code, b.location], [false, 'USAGE', 's3://b/r1.ipynb']);
  });

  it('server: without a connected server fails cleanly', async () => {
    const r = await writeOutput({ template: 'server:/out/x.ipynb', values, body: '{}', kind: 'notebook' }, {});
    assert.deepEqual([r.ok, r.error?.code, r.location], [false, 'SINK_FAILED', 'server:/out/x.ipynb']);
  });

  it('redacts secrets in error messages', async () => {
    const r = await writeOutput(
      { template: 'blocker/sekrit-token/x.ipynb', values, body: '{}', kind: 'notebook' },
      { baseDir: dir, secrets: ['sekrit-token'] },
    );
    assert.equal(r.ok, false);
    assert.doesNotMatch(r.error?.message ?? '', /sekrit-token/);
  });

  it('summarizes results for the record', () => {
    const s = summarizeResults([
      { location: '/a.ipynb', ok: true, kind: 'notebook' },
      { location: 'gs://b/a.html', ok: false, kind: 'html', error: { code: 'SINK_FAILED', message: 'boom' } },
    ]);
    assert.deepEqual(s.outputs, { notebook: '/a.ipynb' });
    assert.deepEqual(s.failures, ['html not written to gs://b/a.html: boom (SINK_FAILED)']);
  });
});

describe('writeOutput is bounded', () => {
  it('a write that never finishes is a failed output after the limit, not a hang', async () => {
    const t0 = Date.now();
    const stuck = {
      headers: {},
      makeDirectory: async () => undefined,
      writeText: () => new Promise<void>(() => undefined),
    };
    const r = await writeOutput(
      {
        template: 'server:/{runId}.ipynb',
        values: { notebook: 'n.ipynb', runId: 'r1', date: '2026-01-01T00:00:00.000Z', status: 'succeeded' },
        body: '{}',
        kind: 'notebook',
      },
      { timeoutMs: 300, contents: stuck },
    );
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'SINK_FAILED');
    assert.match(r.error?.message ?? '', /did not finish within/);
    assert.ok(Date.now() - t0 < 5000, `returned after ${Date.now() - t0} ms`);
  });
});

describe('large notebooks are written in slices', () => {
  it('a 3 MiB text with surrogate pairs across every slice boundary comes back identical', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbtrigger-slices-'));
    const text = `x${'😀'.repeat(1.5 * 1024 * 1024)}`; // odd offset: pairs straddle 1 MiB boundaries
    const r = await writeOutput({
      template: join(dir, 'big.ipynb'),
      values: { notebook: 'n.ipynb', runId: 'r', date: '2026-01-01T00:00:00.000Z', status: 'succeeded' },
      body: text,
      kind: 'notebook',
    });
    assert.equal(r.ok, true, r.error?.message);
    assert.equal(await readFile(join(dir, 'big.ipynb'), 'utf8'), text);
    assert.equal(r.bytes, Buffer.byteLength(text));
    await rm(dir, { recursive: true, force: true });
  });
});
