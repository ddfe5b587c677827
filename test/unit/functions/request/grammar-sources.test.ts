/** The message grammar's notebook sources: URL forms in both forms, kernelOnly and kernelCwd, and their encoding. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeMessage } from '../../../../functions/request/encode.js';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { assertBad } from '../../../helpers/run-requests.js';

describe('grammar: notebook sources', () => {
  it('a classic message with a server path is unchanged (no source)', () => {
    const r = parseMessage('h:8888 /a/nb.ipynb --use-https');
    assert.equal(r.notebook, 'a/nb.ipynb');
    assert.equal(r.source, undefined);
    assert.equal(encodeMessage(r), 'h:8888 /a/nb.ipynb --use-https');
  });
  it('accepts gs:// and https:// in the classic and the JSON form, canonical', () => {
    const c = parseMessage('h:8888 gs://bkt/r/nb.ipynb');
    assert.equal(c.notebook, 'gs://bkt/r/nb.ipynb');
    assert.deepEqual(c.source, { kind: 'gcs', bucket: 'bkt', object: 'r/nb.ipynb', url: 'gs://bkt/r/nb.ipynb' });
    const j = parseMessage(
      JSON.stringify({
        server: 'h:1',
        notebook: 'HTTPS://Host./nb.ipynb?sig=s3cret',
        kernelOnly: true,
        kernelCwd: '/w/',
      }),
    );
    assert.equal(j.notebook, 'https://host/nb.ipynb?…');
    assert.equal(j.source?.url, 'https://host/nb.ipynb?sig=s3cret');
    assert.equal(j.kernelOnly, true);
    assert.equal(j.kernelCwd, 'w');
    assert.deepEqual(parseMessage(encodeMessage(j)), j);
    assert.deepEqual(parseMessage(encodeMessage(c)), c);
  });
  it('refuses relative paths (server paths), user info and kernelOnly with a server path, naming the field', () => {
    assertBad(() => parseMessage('h:1 ./nb.ipynb'), 'notebook', /must not contain/);
    assertBad(
      () => parseMessage(JSON.stringify({ server: 'h:1', notebook: 'https://a@b/nb.ipynb' })),
      'notebook',
      /user info/,
    );
    assertBad(
      () => parseMessage(JSON.stringify({ server: 'h:1', notebook: '/nb.ipynb', kernelOnly: true })),
      'notebook',
      /kernel-only/,
    );
    assertBad(
      () => parseMessage(JSON.stringify({ server: 'h:1', notebook: 'gs://b/nb.ipynb' })),
      'notebook',
      /bucket name/,
    );
    assertBad(
      () => parseMessage(JSON.stringify({ server: 'h:1', notebook: 'gs://bkt/nb.ipynb', kernelCwd: 'a/../b' })),
      'kernelCwd',
      /\.\./,
    );
  });
});
