/**
 * Message encoding: the classic form refuses what it cannot carry, the JSON form keeps a stable key
 * order, and an encode → parse round-trip property over generated requests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeClassic,
  encodeData,
  encodeMessage,
  encodeRich,
  isClassic,
} from '../../../../functions/request/encode.js';
import { decodeData, normalizeNotebookPath, parseMessage } from '../../../../functions/request/grammar.js';
import { assertBad, generator, req, srv } from '../../../helpers/run-requests.js';

describe('encoders', () => {
  it('encodeClassic refuses a request the classic form cannot carry', () => {
    for (const extra of [
      { kernelName: 'k' },
      { sequential: false },
      { timeouts: { runSeconds: 1 } },
      { parameters: {} },
      { output: 'o' },
      { runKey: 'r' },
    ]) {
      const r = req(srv('h', 1), 'a.ipynb', extra);
      assert.equal(isClassic(r), false, JSON.stringify(extra));
      assertBad(() => encodeClassic(r), undefined, /classic form cannot carry/);
      assert.ok(encodeMessage(r).startsWith('{'));
    }
    assert.equal(isClassic(req(srv('h', 1), 'a b.ipynb')), false);
  });
  it('encodeRich never writes a token and keeps a stable key order', () => {
    const text = encodeRich(req(srv('h', 443, true), 'a.ipynb', { verbose: true, runKey: 'r' }));
    assert.equal(text, '{"server":"h:443","notebook":"/a.ipynb","useHttps":true,"verbose":true,"runKey":"r"}');
  });
  it('normalizeNotebookPath strips leading slashes and names the field', () => {
    assert.equal(normalizeNotebookPath('///a/b.ipynb'), 'a/b.ipynb');
    assertBad(() => normalizeNotebookPath('a.txt', 'JUPYTER_NOTEBOOK'), 'JUPYTER_NOTEBOOK', /^JUPYTER_NOTEBOOK: /);
  });
});

describe('round trip', () => {
  const N = 2000;
  it(`parseMessage(encodeMessage(r)) deep-equals r for ${N} generated requests, also via base64 data`, () => {
    const gen = generator(20240601);
    let classic = 0;
    let ipv6 = 0;
    for (let i = 0; i < N; i++) {
      const r = gen();
      const text = encodeMessage(r);
      if (!text.startsWith('{')) classic++;
      if (r.server.host.includes(':')) ipv6++;
      assert.deepEqual(parseMessage(text), r, `case ${i}: ${text}`);
      assert.deepEqual(parseMessage(decodeData(encodeData(r))), r, `case ${i} via data`);
      assert.deepEqual(parseMessage(encodeRich(r)), r, `case ${i} rich: ${encodeRich(r)}`);
      // Env values never leak into a fully specified message.
      assert.deepEqual(parseMessage(text, { JUPYTER_SERVER: 'other:1', JUPYTER_NOTEBOOK: 'other.ipynb' }), r);
    }
    // The generator covers both forms and IPv6 (else the property proves little).
    assert.ok(classic > N / 5 && classic < N * 0.9, `classic ${classic}`);
    assert.ok(ipv6 > N / 10, `ipv6 ${ipv6}`);
  });
  it('the classic encoding is whitespace-split safe and flags come last', () => {
    const gen = generator(7);
    for (let i = 0; i < 300; i++) {
      const r = gen();
      if (!isClassic(r)) continue;
      const tokens = encodeClassic(r).split(/\s+/);
      assert.ok(tokens.length >= 2 && tokens.length <= 4);
      assert.ok(tokens.slice(2).every((t) => t === '--use-https' || t === '--verbose'));
      assert.equal(tokens.includes('--use-https'), r.server.secure);
    }
  });
});
