/** Clipping long strings in raw JSON frames: always valid JSON, every string a prefix of the original. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { clipLongStrings } from '../../../../functions/jupyter/frame-clip.js';

/** Pairs the strings of two JSON values walked in the same order. */
function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) strings(x, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      out.push(k);
      strings(x, out);
    }
  return out;
}

describe('clipLongStrings', () => {
  it('leaves short frames byte for byte', () => {
    const text = JSON.stringify({
      header: { msg_type: 'stream' },
      content: { name: 'stdout', text: 'héllo "x" \\ \n 😀' },
    });
    assert.deepEqual(clipLongStrings(Buffer.from(text), 1000), { text, clipped: 0 });
  });

  it('cuts a 5 MB stream text to the limit, keeping the small fields', () => {
    const big = 'x'.repeat(5 * 1024 * 1024);
    const frame = Buffer.from(
      JSON.stringify({
        header: { msg_type: 'stream', msg_id: 'a' },
        parent_header: { msg_id: 'p' },
        content: { name: 'stdout', text: big },
        channel: 'iopub',
      }),
    );
    const r = clipLongStrings(frame, 1000);
    assert.equal(r.clipped, 1);
    const v = JSON.parse(r.text) as { content: { text: string; name: string }; parent_header: { msg_id: string } };
    assert.equal(v.content.text.length, 1000);
    assert.equal(v.content.name, 'stdout');
    assert.equal(v.parent_header.msg_id, 'p');
  });

  it('never cuts inside an escape or a UTF-8 character (property)', () => {
    const text = fc.string({
      unit: fc.oneof(
        fc.constantFrom('"', '\\', '\n', '\u0001', 'é', '😀', '\ud800', 'x'),
        fc.string({ unit: 'grapheme', maxLength: 1 }),
      ),
      maxLength: 80,
    });
    const value = fc.dictionary(
      fc.string({ maxLength: 3 }),
      fc.oneof(text, fc.array(text, { maxLength: 4 }), fc.integer()),
      { maxKeys: 5 },
    );
    fc.assert(
      fc.property(value, fc.integer({ min: 24, max: 90 }), (v, max) => {
        const buf = Buffer.from(JSON.stringify(v));
        const r = clipLongStrings(buf, max);
        const back = JSON.parse(r.text) as unknown; // valid JSON, always
        const a = strings(v);
        const b = strings(back);
        assert.equal(b.length, a.length);
        a.forEach((s, k) => {
          assert.ok(
            s.startsWith(b[k]!),
            `a clipped string is a prefix of the original: ${JSON.stringify(s)} → ${JSON.stringify(b[k])}`,
          );
          const raw = Buffer.byteLength(JSON.stringify(s)) - 2;
          if (raw <= max) assert.equal(b[k], s, 'strings within the limit are kept whole');
        });
      }),
      { numRuns: 2000 },
    );
  });
});
