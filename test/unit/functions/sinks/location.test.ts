import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_OUTPUT_TEMPLATE,
  expandPlaceholders,
  formatDate,
  formatLocation,
  notebookStem,
  outputTemplate,
  parseLocation,
  safeSegment,
  siblingLocation,
} from '../../../../functions/sinks/location.js';
import { notebookFolder, runStem, stampOf } from '../../../../functions/store/runs-store.js';

const values = { notebook: 'reports/daily.ipynb', runId: 'abc123', date: '2026-01-21T23:49:30.123Z', status: 'failed' };

describe('placeholders', () => {
  it('expands the default template', () => {
    assert.equal(
      expandPlaceholders(DEFAULT_OUTPUT_TEMPLATE, values),
      'runs/daily/2026-01-21T23-49-30.123Z-abc123.ipynb',
    );
    assert.equal(
      expandPlaceholders('gs://b/{status}/{notebook}-{runId}.ipynb', values),
      'gs://b/failed/daily-abc123.ipynb',
    );
  });

  it('puts the default output beside the run record the local store writes', () => {
    const out = expandPlaceholders(DEFAULT_OUTPUT_TEMPLATE, values);
    assert.equal(out, `runs/${notebookFolder(values.notebook)}/${runStem(values.date, values.runId)}.ipynb`);
    for (const nb of ['a b.ipynb', '/x/.hidden.ipynb', 'ünï.ipynb', '', 'x/../..ipynb', 'a'.repeat(150)]) {
      assert.equal(notebookStem(nb), notebookFolder(nb), nb);
    }
    assert.equal(notebookStem(null), notebookFolder(null));
    assert.equal(formatDate(new Date(0)), stampOf(new Date(0).toISOString()));
  });

  it('no placeholder value can add a directory level or climb out', () => {
    const hostile = [
      '../../etc/passwd',
      '..',
      '.',
      '/abs',
      'a/b',
      'a\\b',
      'gs://x',
      'c:\\x',
      '\u0000\n',
      '..%2f..',
      ' ',
    ];
    for (const h of hostile) {
      for (const key of ['notebook', 'runId', 'status'] as const) {
        const out = expandPlaceholders('out/{notebook}/{runId}/{status}.ipynb', { ...values, [key]: h });
        const segs = out.split('/');
        assert.equal(segs.length, 4, `${key}=${JSON.stringify(h)} → ${out}`);
        assert.ok(!segs.some((s) => s === '..' || s === '.' || s === ''), out);
        assert.doesNotMatch(out, /[\\:\u0000\n]/, out);
        assert.deepEqual(parseLocation(out), { kind: 'file', path: out });
      }
    }
    assert.equal(safeSegment('..'), '_');
    assert.equal(safeSegment('...x'), '_x');
    assert.equal(safeSegment(''), '_');
    assert.equal(safeSegment('x'.repeat(300)).length, 100);
  });

  it('a value cannot turn a path into another location kind', () => {
    assert.deepEqual(parseLocation(expandPlaceholders('{notebook}', { ...values, notebook: 'gs://evil/x.ipynb' })), {
      kind: 'file',
      path: 'x',
    });
    assert.deepEqual(parseLocation(expandPlaceholders('{status}', { ...values, status: 'gs://evil/x' })), {
      kind: 'file',
      path: 'gs___evil_x',
    });
    assert.deepEqual(parseLocation(expandPlaceholders('{runId}/x', { ...values, runId: 'server:' })), {
      kind: 'file',
      path: 'server_/x',
    });
  });

  it('refuses an unknown placeholder and keeps other braces', () => {
    assert.throws(
      () => expandPlaceholders('runs/{notbook}.ipynb', values),
      (e: Error & { code?: string }) => e.code === 'USAGE' && /notbook/.test(e.message),
    );
    assert.equal(expandPlaceholders('a{-}b{ {runId}', values), 'a{-}b{ abc123');
  });

  it('rejects an invalid date', () => {
    assert.throws(() => formatDate('not a date'), /invalid date/);
  });
});

describe('parseLocation', () => {
  it('recognises the three kinds', () => {
    assert.deepEqual(parseLocation('gs://my-bucket/a/b.ipynb'), {
      kind: 'gcs',
      bucket: 'my-bucket',
      object: 'a/b.ipynb',
    });
    assert.deepEqual(parseLocation('server:/out/x.ipynb'), { kind: 'server', path: 'out/x.ipynb' });
    assert.deepEqual(parseLocation('server:out/x.ipynb'), { kind: 'server', path: 'out/x.ipynb' });
    assert.deepEqual(parseLocation('./out/x.ipynb'), { kind: 'file', path: './out/x.ipynb' });
    assert.deepEqual(parseLocation('/tmp/x.ipynb'), { kind: 'file', path: '/tmp/x.ipynb' });
    assert.deepEqual(parseLocation('file:///tmp/a%20b.ipynb'), { kind: 'file', path: '/tmp/a b.ipynb' });
    assert.deepEqual(parseLocation('file:rel.ipynb'), { kind: 'file', path: 'rel.ipynb' });
  });

  it('refuses bad locations with USAGE', () => {
    for (const bad of [
      '',
      '  ',
      'gs://',
      'gs://b',
      'gs://bucket/',
      'gs://UPPER/x',
      'gs://-x/y',
      'gs://b..c/x',
      'gs://bb/a/../x',
      'gs://bb/./x',
      'server:',
      'server:/',
      'server:/dir/',
      'server:/../x',
      'server:/a/../../x',
      's3://b/x',
      'https://x/y',
      'file://rel',
      `gs://bb/${'x'.repeat(1025)}`,
      'gs://bb/a\nb',
    ]) {
      assert.throws(
        () => parseLocation(bad),
        (e: Error & { code?: string }) => e.code === 'USAGE',
        JSON.stringify(bad),
      );
    }
  });

  it('formats back and finds the HTML sibling', () => {
    for (const s of ['gs://b-1/x/y.ipynb', 'server:/a/b.ipynb', '/tmp/z.ipynb'])
      assert.equal(formatLocation(parseLocation(s)), s);
    assert.equal(formatLocation(siblingLocation(parseLocation('gs://bbb/x/y.ipynb'), '.html')), 'gs://bbb/x/y.html');
    assert.equal(formatLocation(siblingLocation(parseLocation('server:/y.IPYNB'), '.html')), 'server:/y.html');
    assert.equal(formatLocation(siblingLocation(parseLocation('out/result'), '.html')), 'out/result.html');
  });
});

describe('outputTemplate', () => {
  const cases: Array<[string, string]> = [
    ['gs://my-bucket/reports/', 'gs://my-bucket/reports/{notebook}/{date}-{runId}.ipynb'],
    ['out/', 'out/{notebook}/{date}-{runId}.ipynb'],
    ['server:/runs/', 'server:/runs/{notebook}/{date}-{runId}.ipynb'],
    ['gs://my-bucket/x.ipynb', 'gs://my-bucket/x.ipynb'],
    ['runs/{notebook}-{runId}.ipynb', 'runs/{notebook}-{runId}.ipynb'],
  ];
  for (const [given, want] of cases) {
    it(`${given} → ${want}`, () => {
      assert.equal(outputTemplate(given), want);
      const loc = parseLocation(
        expandPlaceholders(outputTemplate(given), {
          notebook: 'daily.ipynb',
          runId: 'abc',
          date: '2026-01-01T00:00:00.000Z',
          status: 'succeeded',
        }),
      );
      assert.ok(loc, 'a folder template expands to a writable location');
    });
  }
});
