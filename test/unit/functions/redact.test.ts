/**
 * Redaction: every encoding the outputs use, and cuts that never leave a fragment of a secret
 * (redact first, then cut; a fragment at the cut is redacted too).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  clipRedacted,
  headerSecrets,
  MIN_FRAGMENT,
  REDACTED,
  redact,
  redactionForms,
  redactCutStrings,
  redactLeadingFragment,
  redactTrailingFragment,
  tailRedacted,
} from '../../../functions/redact.js';
import { escapeHtml } from '../../../functions/report/escape.js';

/** A token with every character the encodings treat specially. */
const NASTY = `t0k&'<>"%+/ é€😀\\q9Z`;

/** What the writers nbtrigger's outputs pass through produce (JS and Python, as they are written). */
function encodings(s: string): Array<[string, string]> {
  const markupsafe = s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&#34;')
    .replace(/'/g, '&#39;');
  const pyHtml = s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#x27;');
  const mistune = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const pyJson = JSON.stringify(s)
    .slice(1, -1)
    .replace(/[^\u0020-\u007e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const pyQuotePlus = [...Buffer.from(s)]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : b === 0x20
          ? '+'
          : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
  return [
    ['raw', s],
    ['JSON.stringify', JSON.stringify(s).slice(1, -1)],
    ['JSON twice', JSON.stringify(JSON.stringify(s).slice(1, -1)).slice(1, -1)],
    ['Python json.dumps', pyJson],
    ['escapeHtml', escapeHtml(s)],
    ['markupsafe', markupsafe],
    ['html.escape', pyHtml],
    ['mistune', mistune],
    ['escapeHtml twice (srcdoc)', escapeHtml(escapeHtml(s))],
    ['escapeHtml of JSON', escapeHtml(JSON.stringify(s).slice(1, -1))],
    ['JSON of escapeHtml (text/html in a notebook)', JSON.stringify(escapeHtml(s)).slice(1, -1)],
    ['encodeURIComponent', encodeURIComponent(s)],
    ['encodeURIComponent, + for space', encodeURIComponent(s).replace(/%20/g, '+')],
    ['URLSearchParams', new URLSearchParams({ k: s }).toString().slice(2)],
    ['Python quote_plus', pyQuotePlus],
  ];
}

describe('redact', () => {
  for (const [name, form] of encodings(NASTY)) {
    it(`replaces the ${name} form of a token with &'<>"%+/, a space and unicode`, () => {
      const out = redact(`before ${form} after`, [NASTY]);
      assert.equal(out, `before ${REDACTED} after`);
    });
  }
  it('a plain hex token: raw, and its bytes in hex and base64', () => {
    const t = '0123456789abcdef';
    const forms = redactionForms([t]);
    assert.ok(forms.includes(t));
    assert.ok(forms.includes(Buffer.from(t).toString('hex')));
    // 16 bytes are 21⅓ base64 characters: the 22nd also holds bits of whatever follows.
    assert.ok(forms.includes(Buffer.from(t).toString('base64').slice(0, 21)));
  });
  for (const token of [NASTY, 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4']) {
    it(`replaces the token's bytes in base64 at every offset and in hex (${token.length} characters)`, () => {
      for (const prefix of ['', 'u', 'us', 'user:', 'x'.repeat(7)]) {
        for (const suffix of ['', '!', ':p', '#ab']) {
          const b64 = Buffer.from(`${prefix}${token}${suffix}`).toString('base64');
          const urlSafe = b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
          for (const encoded of [b64, urlSafe]) {
            const out = redact(`Authorization: Basic ${encoded}`, [token]);
            assert.ok(out.includes(REDACTED), `${prefix}|${suffix}: ${encoded}`);
            // What is left cannot give the secret's bytes back: at most 2 characters either side of the marker.
            const left = out.slice('Authorization: Basic '.length).split(REDACTED);
            assert.ok(left[0]!.length <= Math.ceil((prefix.length * 4) / 3) + 1, `${prefix}|${suffix}: ${out}`);
          }
        }
      }
      const hex = Buffer.from(token).toString('hex');
      assert.equal(redact(`h=${hex}.`, [token]), `h=${REDACTED}.`);
      assert.equal(redact(`h=${hex.toUpperCase()}.`, [token]), `h=${REDACTED}.`);
    });
  }
  it('replaces longer forms first, so no escaped form is left half replaced', () => {
    const forms = redactionForms([NASTY, 'short']);
    for (let i = 1; i < forms.length; i++) assert.ok(forms[i - 1]!.length >= forms[i]!.length);
  });
  it('headerSecrets takes credentials headers, whole and without their scheme', () => {
    assert.deepEqual(
      headerSecrets({ authorization: 'token abc', 'X-Serverless-Authorization': 'Bearer e.f.g', accept: 'json' }),
      ['token abc', 'abc', 'Bearer e.f.g', 'e.f.g'],
    );
  });
});

describe('fragments at a cut', () => {
  const T = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4'; // 48 characters, as the server's token
  it('a trailing prefix of the token (4 characters and up) is redacted, shorter ones kept', () => {
    assert.equal(redactTrailingFragment(`x ${T.slice(0, 46)}`, [T]), `x ${REDACTED}`);
    assert.equal(redactTrailingFragment(`x ${T.slice(0, MIN_FRAGMENT)}`, [T]), `x ${REDACTED}`);
    assert.equal(redactTrailingFragment(`x ${T.slice(0, MIN_FRAGMENT - 1)}`, [T]), `x ${T.slice(0, MIN_FRAGMENT - 1)}`);
  });
  it('in any encoding: an HTML-escaped prefix cut inside an entity', () => {
    const html = escapeHtml(NASTY);
    const cut = html.slice(0, html.indexOf('&lt;') + 3); // "t0k&amp;&#39;&l"
    assert.equal(redactTrailingFragment(`x ${cut}`, [NASTY]), `x ${REDACTED}`);
  });
  it('a leading suffix of the token is redacted (a tail cut from the front)', () => {
    assert.equal(redactLeadingFragment(`${T.slice(5)} y`, [T]), `${REDACTED} y`);
  });

  // Text is made of "x", "y" and spaces; tokens of none of them. After redaction, any run of four
  // or more other characters is token material that leaked.
  const textBits = fc.array(fc.oneof(fc.constant('<T>'), fc.stringMatching(/^[xy ]{0,30}$/)), { maxLength: 10 });
  const token = fc.oneof(fc.constant(T), fc.constant(NASTY), fc.stringMatching(/^[a-wA-W0-9&'<>"%+/é]{6,40}$/));
  /** A run of token material in `out`, once the markers (and a marker the cut split) are taken out. */
  const leaked = (out: string, marker: string, end: 'tail' | 'head'): string | undefined => {
    let rest = end === 'tail' ? out.slice(0, -marker.length) : out.slice(marker.length);
    for (let k = REDACTED.length - 1; k > 0; k--) {
      if (end === 'tail' && rest.endsWith(REDACTED.slice(0, k))) {
        rest = rest.slice(0, -k);
        break;
      }
      if (end === 'head' && rest.startsWith(REDACTED.slice(-k))) {
        rest = rest.slice(k);
        break;
      }
    }
    return /[^xy ]{4,}/.exec(rest.split(REDACTED).join(' '))?.[0];
  };
  const build = (t: string, bits: string[]): string =>
    bits
      .map((b, i) => {
        if (b !== '<T>') return b;
        const forms = encodings(t);
        return forms[i % forms.length]![1];
      })
      .join('');

  it('clipRedacted leaves no 4-character piece of a token, wherever the cut falls', () => {
    fc.assert(
      fc.property(token, textBits, fc.nat(400), (t, bits, max) => {
        const text = build(t, bits);
        const out = clipRedacted(text, max, [t], '…');
        assert.equal(
          leaked(text.length > max ? out : `${out}…`, '…', 'tail'),
          undefined,
          `leak in ${JSON.stringify(out)} (max ${max})`,
        );
        assert.ok(out.length <= Math.max(max, redact(text, [t]).length) + 1);
        if (text.length <= max) assert.equal(out, redact(text, [t]));
      }),
      { numRuns: 2000 },
    );
  });
  it('tailRedacted leaves no 4-character piece of a token, wherever the cut falls', () => {
    fc.assert(
      fc.property(token, textBits, fc.nat(400), (t, bits, max) => {
        const text = build(t, bits);
        const out = tailRedacted(text, max, [t], '…');
        assert.equal(
          leaked(text.length > max ? out : `…${out}`, '…', 'head'),
          undefined,
          `leak in ${JSON.stringify(out)} (max ${max})`,
        );
      }),
      { numRuns: 2000 },
    );
  });
  it('the 48-character token that a 200-character cut would split at 46 is redacted before the cut', () => {
    const text = `${'x'.repeat(154)}${T}${'y'.repeat(100)}`;
    assert.equal(clipRedacted(text, 200, [T]), `${'x'.repeat(154)}${REDACTED}${'y'.repeat(36)}…`);
    // A text that holds only the prefix (cut upstream) loses it at the cut.
    assert.equal(clipRedacted(`${'x'.repeat(154)}${T.slice(0, 46)}`, 190, [T]), `${'x'.repeat(154)}${REDACTED}…`);
  });
  it('reads only what the cut keeps from a long text', () => {
    const long = `${T}${'x'.repeat(10_000_000)}`;
    assert.equal(clipRedacted(long, 20, [T]), `${REDACTED}${'x'.repeat(10)}…`);
  });
});

describe('redactCutStrings (content of a kernel frame clipped to the output cap)', () => {
  const token = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4';
  it('redacts a token fragment at the end of any string, deep in the content; leaves the rest', () => {
    const content = {
      name: 'stdout',
      text: `x`.repeat(100) + token.slice(0, 30),
      data: { 'text/plain': ['ok', `y${token.slice(0, 7)}`], 'image/png': 'iVBOR' },
      n: 3,
      flag: true,
      none: null,
    };
    const out = redactCutStrings(content, [token]);
    assert.ok(!JSON.stringify(out).includes(token.slice(0, 7)));
    assert.equal(out.text.startsWith('x'.repeat(100)), true);
    assert.deepEqual(
      [out.data['image/png'], out.n, out.flag, out.none, out.data['text/plain'][0]],
      ['iVBOR', 3, true, null, 'ok'],
    );
  });
  it('is the identity without a secret, and for strings that end in no fragment', () => {
    const content = { text: 'plain text', list: ['a', 'b'] };
    assert.deepEqual(redactCutStrings(content, []), content);
    assert.deepEqual(redactCutStrings(content, [token]), content);
  });
});
