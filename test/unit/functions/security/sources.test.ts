/** ALLOWED_SOURCES: default deny, prefixes ending at a `/`, one canonical spelling for patterns and sources. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkSource,
  defaultSourceAllowlist,
  outputOverSourcesRefusal,
  parseSourceAllowlist,
  refusedSource,
  sourceAllowlist,
} from '../../../../functions/security/sources.js';
import { parseSourceRef, type ExternalRef } from '../../../../functions/sources/source-ref.js';

const ref = (t: string): ExternalRef => parseSourceRef(t) as ExternalRef;
const allowed = (patterns: string, source: string): boolean =>
  refusedSource(ref(source), parseSourceAllowlist(patterns)) === undefined;

describe('source allowlist', () => {
  it('denies everything by default, unless NBTRIGGER_OUTPUT names a bucket: then its notebooks/ folder', () => {
    assert.deepEqual(sourceAllowlist({}, undefined), []);
    assert.deepEqual(sourceAllowlist({}, '/runs/{notebook}.ipynb'), []);
    assert.deepEqual(
      defaultSourceAllowlist('gs://deploy-bkt/runs/{notebook}/x.ipynb').map((p) => p.origin + p.prefix),
      ['gs://deploy-bkt/notebooks/'],
    );
    assert.deepEqual(sourceAllowlist({ ALLOWED_SOURCES: '' }, 'gs://deploy-bkt/runs/'), []);
    assert.throws(
      () => checkSource(ref('gs://bk1/x.ipynb'), []),
      (e: unknown) => (e as { code: string }).code === 'SOURCE_NOT_ALLOWED' && /none set/.test((e as Error).message),
    );
  });
  it('matches gs:// prefixes at a folder boundary', () => {
    assert.ok(allowed('gs://bk1/reports/', 'gs://bk1/reports/daily.ipynb'));
    assert.ok(allowed('gs://bk1/reports', 'gs://bk1/reports/x/daily.ipynb'));
    assert.ok(!allowed('gs://bk1/reports', 'gs://bk1/reports-evil/daily.ipynb'));
    assert.ok(!allowed('gs://bk1/', 'gs://bk2/daily.ipynb'));
    assert.ok(!allowed('gs://bk1/reports/', 'gs://bk1/%2e%2e/daily.ipynb'));
    assert.throws(() => ref('gs://Bucket/../x.ipynb'));
  });
  it('compares https hosts canonically, and never lets user info pick the host', () => {
    assert.ok(allowed('https://host/p/', 'HTTPS://HOST./p/nb.ipynb'));
    assert.ok(allowed('https://HOST.:443/p', 'https://host/p/q/nb.ipynb'));
    assert.ok(allowed('https://127.0.0.1:8443/', 'https://0x7f000001:8443/nb.ipynb'));
    assert.ok(!allowed('https://host/p/', 'https://host/p2/nb.ipynb'));
    assert.ok(!allowed('https://host/p/', 'https://host/p/../q/nb.ipynb'));
    assert.ok(!allowed('https://host/p/', 'https://host/p/%2e%2e/q/nb.ipynb'));
    assert.ok(!allowed('https://host/', 'http://host/nb.ipynb'));
    assert.ok(!allowed('https://host/', 'https://host:8443/nb.ipynb'));
    assert.ok(!allowed('https://host/', 'https://host.evil/nb.ipynb'));
    assert.throws(() => ref('https://host@evil/nb.ipynb'), /user info/);
    // A query cannot carry a source past its prefix.
    assert.ok(!allowed('https://host/p/', 'https://host/q/nb.ipynb?/p/'));
  });
  it('allows local files only under a listed file:/// folder', () => {
    assert.ok(allowed('file:///srv/nbs/', 'file:///srv/nbs/a/nb.ipynb'));
    assert.ok(!allowed('file:///srv/nbs/', 'file:///srv/nbs/../etc/nb.ipynb'));
    assert.ok(!allowed('gs://bk1/', 'file:///srv/nbs/nb.ipynb'));
  });
  it('refuses malformed patterns as CONFIG naming ALLOWED_SOURCES', () => {
    for (const bad of [
      'gs://Bad_Bucket/',
      'https://*.run.app/',
      'https://u@h/',
      's3://b/',
      'file://h/x/',
      'gs://bk1/../x/',
      'plain',
    ]) {
      assert.throws(
        () => parseSourceAllowlist(bad),
        (e: unknown) =>
          (e as { code: string }).code === 'CONFIG' &&
          (e as { details: { field: string } }).details.field === 'ALLOWED_SOURCES',
        bad,
      );
    }
  });
});

describe('a message output where notebooks are read', () => {
  const patterns = parseSourceAllowlist('gs://bk1/notebooks/ file:///srv/nbs/');
  const refused = (output: string): string | undefined => outputOverSourcesRefusal(output, 'daily.ipynb', patterns);
  it('refuses a name that is the same on every run (it could replace a notebook runs read)', () => {
    assert.match(refused('gs://bk1/notebooks/daily-0123456789abcdef.ipynb') ?? '', /put \{runId\} in the name/);
    assert.match(refused('gs://bk1/notebooks/{notebook}.ipynb') ?? '', /inside ALLOWED_SOURCES/);
    assert.match(
      refused('gs://bk1/notebooks/out/{date}.ipynb') ?? '',
      /inside ALLOWED_SOURCES/,
      "{date} is not the run's own",
    );
    assert.match(refused('/srv/nbs/daily.ipynb') ?? '', /inside ALLOWED_SOURCES/);
  });
  it("allows a file of the run's own beside the sources, and anything outside them", () => {
    assert.equal(refused('gs://bk1/notebooks/out/{notebook}-{runId}.ipynb'), undefined);
    assert.equal(refused('gs://bk1/notebooks/out/'), undefined, 'a folder: the default name ends in the run id');
    assert.equal(refused('gs://bk1/runs/daily.ipynb'), undefined);
    assert.equal(refused('gs://bk1/notebooks-out/daily.ipynb'), undefined, 'the prefix ends at a folder boundary');
    assert.equal(refused('gs://bk2/notebooks/daily.ipynb'), undefined);
    assert.equal(outputOverSourcesRefusal('gs://bk1/notebooks/x.ipynb', 'daily.ipynb', []), undefined);
  });
});
