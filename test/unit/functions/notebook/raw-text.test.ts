/** Output text kept as JSON-escaped bytes: measured, clipped and decoded exactly as the string it stands for. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compact, decodedLength, RawJsonText } from '../../../../functions/notebook/raw-text.js';

/** JSON string content for `s` in the two ways servers write it: raw UTF-8, or ASCII with \u escapes. */
function encodings(s: string): Buffer[] {
  const plain = JSON.stringify(s).slice(1, -1);
  const ascii = plain.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [Buffer.from(plain), Buffer.from(ascii)];
}

/** clipText of outputs.ts: n units, never ending in a high surrogate. */
function clipText(s: string, n: number): string {
  if (s.length <= n) return s;
  const code = s.charCodeAt(n - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}

describe('RawJsonText', () => {
  it('measures and decodes any string, in both encodings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        for (const b of encodings(s)) {
          const r = RawJsonText.of(b)!;
          assert.equal(r.length, s.length);
          assert.equal(r.toString(), s);
          assert.equal(JSON.stringify({ t: r }), JSON.stringify({ t: s }));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('clips at n UTF-16 units as clipText does on the decoded string (well-formed text)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.nat(80), (s, n) => {
        for (const b of encodings(s)) {
          const c = RawJsonText.of(b)!.clip(n);
          const want = clipText(s, n);
          assert.equal(c.toString(), want);
          assert.equal(c.length, want.length);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses content that is not valid inside a JSON string', () => {
    for (const bad of ['a"b', 'a\\', 'a\\x', 'a\\u12', 'a\\u12g4', 'tab\there', 'nul\u0000']) {
      assert.equal(RawJsonText.of(Buffer.from(bad)), undefined, JSON.stringify(bad));
      assert.equal(decodedLength(Buffer.from(bad)), -1);
    }
  });

  it('a clip of a small part of a large buffer is copied out, so the buffer can be freed', () => {
    const big = RawJsonText.of(Buffer.from('x'.repeat(1 << 20)))!;
    const small = big.clip(100);
    assert.equal(small.bytes.buffer.byteLength, 100);
    assert.equal(compact(big.bytes), big.bytes);
  });
});
