/** Notebook references: classified and canonicalised; every bad spelling a BAD_MESSAGE naming the field. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isExternalRef,
  parseSourceRef,
  shownUrl,
  sourceFolder,
  type ExternalRef,
} from '../../../../functions/sources/source-ref.js';
import { resolveSourceDir } from '../../../../functions/sinks/location.js';

const ext = (text: string, local?: { cwd: string; home: string }): ExternalRef => {
  const r = parseSourceRef(text, local ? { local } : {});
  assert.notEqual(r.kind, 'server', text);
  return r as ExternalRef;
};
const refused = (text: string, why: RegExp, local?: { cwd: string; home: string }): void => {
  assert.throws(
    () => parseSourceRef(text, { field: 'notebook', ...(local ? { local } : {}) }),
    (e: unknown) =>
      (e as { code: string }).code === 'BAD_MESSAGE' &&
      why.test((e as Error).message) &&
      (e as { details: { field: string } }).details.field === 'notebook',
  );
};

describe('parseSourceRef', () => {
  it('server paths stay server paths (the classic grammar is unchanged)', () => {
    for (const p of ['/a/nb.ipynb', 'a/nb.ipynb', 'nb.ipynb']) {
      assert.equal(isExternalRef(p), false);
      assert.deepEqual(parseSourceRef(p), { kind: 'server', path: p });
    }
  });
  it('gs:// keeps the object literally and refuses dot segments and capital buckets', () => {
    assert.deepEqual(ext('gs://my-bucket/reports/daily.ipynb'), {
      kind: 'gcs',
      bucket: 'my-bucket',
      object: 'reports/daily.ipynb',
      url: 'gs://my-bucket/reports/daily.ipynb',
    });
    assert.equal(ext('GS://b12/x.ipynb').url, 'gs://b12/x.ipynb');
    refused('gs://Bucket/../x.ipynb', /not a bucket name/);
    refused('gs://bucket/../x.ipynb', /"\.", "\.\." or empty segments/);
    refused('gs://bucket/a//x.ipynb', /empty segments/);
    refused('gs://bucket/a/./x.ipynb', /segments/);
    refused('gs://bucket/x.txt', /does not end in \.ipynb/);
    refused('gs://bucket', /names no object/);
    // Percent signs are part of a GCS object name (the client encodes them): never decoded into a `..`.
    assert.equal(
      ext('gs://bucket/%2e%2e/x.ipynb').kind === 'gcs' && ext('gs://bucket/%2e%2e/x.ipynb').url,
      'gs://bucket/%2e%2e/x.ipynb',
    );
  });
  it('https:// is canonical as a URL parser reads it', () => {
    const r = ext('HTTPS://HOST./p/nb.ipynb');
    assert.equal(r.url, 'https://host/p/nb.ipynb');
    assert.equal(ext('https://0x7f.1:8443/a/nb.ipynb').url, 'https://127.0.0.1:8443/a/nb.ipynb');
    assert.equal(ext('https://[0:0::1]/nb.ipynb').url, 'https://[::1]/nb.ipynb');
    assert.equal(ext('https://h:443/a/b/../nb.ipynb').url, 'https://h/a/nb.ipynb');
    assert.equal(ext('https://h/a/%2e%2e/nb.ipynb').url, 'https://h/nb.ipynb');
    assert.equal(ext('https://h/a/nb%2Eipynb').url, 'https://h/a/nb%2Eipynb');
    assert.equal(ext('https://h/a/nb.ipynb#frag').url, 'https://h/a/nb.ipynb');
    assert.equal(ext('http://h:80/nb.ipynb').url, 'http://h/nb.ipynb');
  });
  it('refuses user info, which hides the real host', () => {
    refused('https://host@evil/nb.ipynb', /user info/);
    refused('https://user:pw@host/nb.ipynb', /user info/);
  });
  it('keeps a query for the read but never shows it', () => {
    const r = ext('https://h/nb.ipynb?X-Goog-Signature=secret');
    assert.equal(r.url, 'https://h/nb.ipynb?X-Goog-Signature=secret');
    assert.equal(shownUrl(r), 'https://h/nb.ipynb?…');
    refused('https://h/nb.txt?x=.ipynb', /does not end in \.ipynb/);
  });
  it('file:// must be absolute; relative and ~ paths only on the command line', () => {
    assert.deepEqual(ext('file:///tmp/a/../b/nb%20x.ipynb'), {
      kind: 'file',
      path: '/tmp/b/nb x.ipynb',
      url: 'file:///tmp/b/nb%20x.ipynb',
    });
    refused('file://host/nb.ipynb', /absolute/);
    refused('./nb.ipynb', /only the command line/);
    refused('~/nb.ipynb', /only the command line/);
    const local = { cwd: '/w/here', home: '/home/u' };
    assert.equal(ext('./nb.ipynb', local).url, 'file:///w/here/nb.ipynb');
    assert.equal(ext('../x/nb.ipynb', local).url, 'file:///w/x/nb.ipynb');
    assert.equal(ext('~/nb.ipynb', local).url, 'file:///home/u/nb.ipynb');
  });
  it('refuses other schemes and control characters', () => {
    refused('s3://b/nb.ipynb', /scheme "s3"/);
    refused('gs://b/x\u0001.ipynb', /control character/);
    refused('https://h/%ZZ.ipynb', /percent-encoding|does not end/);
  });
});

describe('{sourceDir} outputs', () => {
  it('writes next to a gs:// or local source, or the server file', () => {
    assert.equal(
      resolveSourceDir('{sourceDir}/out/{notebook}.ipynb', sourceFolder(ext('gs://bk1/r/nb.ipynb'))),
      'gs://bk1/r/out/{notebook}.ipynb',
    );
    assert.equal(
      resolveSourceDir('{sourceDir}/{notebook}.out.ipynb', sourceFolder(ext('gs://bk1/nb.ipynb'))),
      'gs://bk1/{notebook}.out.ipynb',
    );
    assert.equal(resolveSourceDir('{sourceDir}/o.ipynb', sourceFolder(ext('file:///t/nb.ipynb'))), '/t/o.ipynb');
    assert.equal(
      resolveSourceDir('{sourceDir}/o.ipynb', sourceFolder(undefined, 'a/b/nb.ipynb')),
      'server:/a/b/o.ipynb',
    );
    assert.equal(resolveSourceDir('out/x.ipynb', undefined), 'out/x.ipynb');
  });
  it('is a usage error for an https source or anywhere but the start', () => {
    assert.throws(
      () => resolveSourceDir('{sourceDir}/o.ipynb', sourceFolder(ext('https://h/nb.ipynb'))),
      /cannot be written/,
    );
    assert.throws(() => resolveSourceDir('x/{sourceDir}/o.ipynb', 'gs://b/'), /at the start/);
  });
});
