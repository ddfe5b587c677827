/**
 * The output policy: what a message may choose as its `output`. Locations go through the same
 * expansion and parser as the function's check (process.ts), so these are the real verdicts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  defaultOutputAllowlist,
  messageOutputRefusal,
  outputAllowlist,
  parseOutputAllowlist,
  refusedOutput,
  type OutputPattern,
} from '../../../../functions/security/outputs.js';
import { expandPlaceholders, outputTemplate, parseLocation } from '../../../../functions/sinks/location.js';

const SERVER = { host: 'nb.example.run.app', port: 443, secure: true };
const values = { notebook: 'daily.ipynb', runId: 'r1', date: 0, status: 'succeeded' };

function verdict(text: string, patterns: OutputPattern[], server = SERVER): string | undefined {
  return refusedOutput(parseLocation(expandPlaceholders(outputTemplate(text), values)), text, server, patterns);
}

describe('local outputs of a message stay in the runs folder', () => {
  const none = parseOutputAllowlist('');
  for (const ok of [
    'out.ipynb',
    'reports/{notebook}-{runId}.ipynb',
    './x/y.ipynb',
    'folder/',
    '{notebook}/{date}-{runId}.ipynb',
  ]) {
    test(`allowed: ${ok}`, () => assert.equal(verdict(ok, none), undefined));
  }
  for (const [bad, why] of [
    ['../../x-{runId}.ipynb', /"\.\." segment/],
    ['a/../../x.ipynb', /"\.\." segment/],
    ['reports/..', /"\.\." segment/],
    ['/tmp/x.ipynb', /absolute path/],
    ['file:///tmp/x.ipynb', /file: location/],
    ['file:x.ipynb', /file: location/],
    ['~/x.ipynb', /~/],
    ['..\\x.ipynb', /backslash/],
  ] as const) {
    test(`refused: ${bad}`, () => assert.match(verdict(bad, none) ?? 'allowed', why));
  }
});

describe('gs:// outputs must match ALLOWED_OUTPUTS', () => {
  const p = parseOutputAllowlist('gs://Reports-Bucket/daily, gs://whole-bucket');
  test('patterns are canonical: bucket lowercased, prefix without its trailing slash', () => {
    assert.deepEqual(
      p.map((x) => x.kind === 'gcs' && [x.bucket, x.prefix]),
      [
        ['reports-bucket', 'daily'],
        ['whole-bucket', ''],
      ],
    );
  });
  for (const ok of [
    'gs://reports-bucket/daily/x.ipynb',
    'gs://reports-bucket/daily/',
    'gs://reports-bucket/daily/a/b/{runId}.ipynb',
    'gs://whole-bucket/anything.ipynb',
  ]) {
    test(`allowed: ${ok}`, () => assert.equal(verdict(ok, p), undefined));
  }
  for (const bad of [
    'gs://other-bucket/daily/x.ipynb',
    'gs://reports-bucket/daily-evil/x.ipynb',
    'gs://reports-bucket/dailyx.ipynb',
    'gs://reports-bucket/x.ipynb',
    'gs://reports-bucket/{runId}/x.ipynb',
    'gs://reports-bucket.evil/daily/x.ipynb',
  ]) {
    test(`refused: ${bad}`, () =>
      assert.match(
        verdict(bad, p) ?? 'allowed',
        /is not in ALLOWED_OUTPUTS \(gs:\/\/Reports-Bucket\/daily, gs:\/\/whole-bucket\)/,
      ));
  }
  test('".." in an object name is refused by the parser before any pattern is tried', () => {
    assert.throws(() => verdict('gs://reports-bucket/daily/../evil/x.ipynb', p), /may not contain "\.\." segments/);
  });
  test('an upper-case bucket in a message is not a bucket name', () => {
    assert.throws(() => verdict('gs://Reports-Bucket/daily/x.ipynb', p), /invalid bucket name/);
  });
});

describe('server: outputs', () => {
  test("default: the notebook's own server, any path; the deployment's gs:// output folder", () => {
    const d = defaultOutputAllowlist('gs://runs-bucket/reports/{notebook}/{date}-{runId}.ipynb');
    assert.deepEqual(
      d.map((x) => x.text),
      ['server:', 'gs://runs-bucket/reports'],
    );
    assert.equal(verdict('server:/out/x.ipynb', d), undefined);
    assert.equal(verdict('gs://runs-bucket/reports/x/y.ipynb', d), undefined);
    assert.match(verdict('gs://runs-bucket/other/y.ipynb', d) ?? 'allowed', /not in ALLOWED_OUTPUTS/);
    assert.deepEqual(
      defaultOutputAllowlist('gs://runs-bucket/').map((x) => x.text),
      ['server:', 'gs://runs-bucket'],
    );
    assert.deepEqual(
      defaultOutputAllowlist('/srv/runs/{notebook}.ipynb').map((x) => x.text),
      ['server:'],
    );
    assert.deepEqual(
      outputAllowlist({}, undefined).map((x) => x.text),
      ['server:'],
    );
  });
  test('a named server allows only that server, below its folder', () => {
    const p = parseOutputAllowlist('server://NB.example.run.app:443/reports');
    assert.equal(verdict('server:/reports/x.ipynb', p), undefined);
    assert.match(verdict('server:/reports-evil/x.ipynb', p) ?? 'allowed', /not in ALLOWED_OUTPUTS/);
    assert.match(
      verdict('server:/reports/x.ipynb', p, { host: 'other.run.app', port: 443, secure: true }) ?? 'allowed',
      /on other\.run\.app:443 is not in ALLOWED_OUTPUTS \(server:\/\/NB\.example\.run\.app:443\/reports\)/,
    );
  });
  test('ALLOWED_OUTPUTS set but empty: no gs:// or server: output for a message', () => {
    const p = outputAllowlist({ ALLOWED_OUTPUTS: '' }, 'gs://bk1/x/');
    assert.match(verdict('server:/x.ipynb', p) ?? 'allowed', /no server: pattern/);
    assert.match(verdict('gs://bk1/x/y.ipynb', p) ?? 'allowed', /no gs:\/\/ pattern/);
  });
  test('malformed patterns are a configuration error naming the entry', () => {
    for (const bad of ['s3://b/x', 'gs://B', 'gs://bk1/../x', 'server://host/x', '/tmp', 'gs://bk1/{notebook}']) {
      assert.throws(
        () => parseOutputAllowlist(bad),
        (e: Error & { code?: string }) => e.code === 'CONFIG' && e.message.includes(bad),
        bad,
      );
    }
  });
});

describe('a template is checked for every run it can name', () => {
  const p = parseOutputAllowlist('gs://bkt/run, gs://bkt/daily, server:/succeeded');
  test('a placeholder inside an allowed folder is refused, whatever value would match it once', () => {
    assert.match(
      messageOutputRefusal('gs://bkt/{runId}/x.ipynb', 'nb.ipynb', SERVER, p) ?? 'allowed',
      /not in ALLOWED_OUTPUTS/,
    );
    assert.match(
      messageOutputRefusal('server:/{status}/x.ipynb', 'nb.ipynb', SERVER, p) ?? 'allowed',
      /not in ALLOWED_OUTPUTS/,
    );
  });
  test('the notebook name is known, so {notebook} is checked with its real value', () => {
    assert.equal(
      messageOutputRefusal('gs://bkt/{notebook}/{runId}.ipynb', 'reports/daily.ipynb', SERVER, p),
      undefined,
    );
    assert.match(
      messageOutputRefusal('gs://bkt/{notebook}/{runId}.ipynb', 'reports/evil.ipynb', SERVER, p) ?? 'allowed',
      /not in ALLOWED/,
    );
  });
  test("placeholders below the allowed folder are fine; a bad template is refused with the parser's reason", () => {
    assert.equal(messageOutputRefusal('gs://bkt/run/{date}-{runId}-{status}.ipynb', 'nb.ipynb', SERVER, p), undefined);
    assert.match(
      messageOutputRefusal('gs://bkt/run/{nope}.ipynb', 'nb.ipynb', SERVER, p) ?? 'allowed',
      /unknown placeholder/,
    );
  });
});
