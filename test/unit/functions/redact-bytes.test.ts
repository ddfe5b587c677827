/** Streamed redaction gives the bytes of `redact` on the whole text, however the text is cut. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { redact } from '../../../functions/log.js';
import { redactBytes } from '../../../functions/redact-bytes.js';

function cut(s: string, at: number[]): (string | Uint8Array)[] {
  const points = [...new Set(at.map((a) => a % (s.length + 1)))].sort((a, b) => a - b);
  const out: (string | Uint8Array)[] = [];
  let from = 0;
  points.forEach((p, i) => {
    const piece = s.slice(from, p);
    out.push(i % 2 === 0 ? piece : Buffer.from(piece));
    from = p;
  });
  out.push(s.slice(from));
  return out;
}

describe('redactBytes', () => {
  it('equals redact() on the joined text for generated texts, secrets and cuts', () => {
    const secret = fc.stringMatching(/^[a-f0-9"\\/é]{4,12}$/);
    fc.assert(
      fc.property(
        secret,
        fc.array(fc.oneof(fc.constant('<S>'), fc.string({ maxLength: 8 })), { maxLength: 12 }),
        fc.array(fc.nat(200), { maxLength: 6 }),
        (s, bits, at) => {
          const forms = [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)];
          const textv = bits.map((b, i) => (b === '<S>' ? forms[i % forms.length] : b)).join('');
          const got = Buffer.concat([...redactBytes(cut(textv, at), [s])]).toString();
          assert.equal(got, redact(textv, [s]));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('equals redact() for tokens with &\'<>"%+/, spaces and unicode in their HTML, JSON and URL forms', () => {
    const secret = fc.stringMatching(/^[a-f0-9&'<>"%+/ é€\\]{4,12}$/);
    const html = (s: string): string =>
      s
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&#34;')
        .replace(/'/g, '&#39;');
    fc.assert(
      fc.property(
        secret,
        fc.array(fc.oneof(fc.constant('<S>'), fc.string({ maxLength: 8 })), { maxLength: 12 }),
        fc.array(fc.nat(200), { maxLength: 6 }),
        (s, bits, at) => {
          const forms = [
            s,
            html(s),
            JSON.stringify(html(s)).slice(1, -1),
            new URLSearchParams({ k: s }).toString().slice(2),
            encodeURIComponent(s),
          ];
          const textv = bits.map((b, i) => (b === '<S>' ? forms[i % forms.length] : b)).join('');
          const got = Buffer.concat([...redactBytes(cut(textv, at), [s])]).toString();
          assert.equal(got, redact(textv, [s]));
          for (const f of forms)
            assert.ok(!got.includes(f), `form ${JSON.stringify(f)} left in ${JSON.stringify(got)}`);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('passes byte pieces through without copying when no secret is in them', () => {
    const piece = Buffer.from('x'.repeat(100_000));
    const out = [...redactBytes([piece], ['0123456789abcdef'])];
    assert.equal(out[0]!.buffer, piece.buffer);
    assert.equal(Buffer.concat(out).length, piece.length);
  });

  it('finds a token split across two byte pieces', () => {
    const token = 'a1b2c3d4e5f6a7b8';
    const out = Buffer.concat([
      ...redactBytes([Buffer.from(`x${token.slice(0, 5)}`), Buffer.from(`${token.slice(5)}y`)], [token]),
    ]).toString();
    assert.equal(out, 'x[REDACTED]y');
  });
});
