/**
 * The streaming serializer writes exactly `JSON.stringify(value, null, indent)`, in pieces, for any
 * JSON data; stream outputs kept as pieces (strings or raw bytes) serialize as their joined text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonPieces, jsonStringPieces, PIECE_CHARS, type Piece } from '../../../../functions/notebook/json-pieces.js';
import { RawJsonText } from '../../../../functions/notebook/raw-text.js';
import { copyOutput, streamOutput, textParts } from '../../../../functions/notebook/stream-text.js';

const text = (pieces: Iterable<Piece>): string => {
  const dec = new TextDecoder();
  let out = '';
  for (const p of pieces) out += typeof p === 'string' ? p : dec.decode(p, { stream: true });
  return out + dec.decode();
};

/** Any string, lone surrogates and control characters included. */
const anyString = fc.string({ unit: 'binary', maxLength: 40 });

describe('jsonPieces', () => {
  it('equals JSON.stringify for generated JSON values and indents', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.integer({ min: 0, max: 3 }), (v, indent) => {
        assert.equal(text(jsonPieces(v, indent)), JSON.stringify(v, null, indent));
      }),
      { numRuns: 400 },
    );
  });

  it('equals JSON.stringify on JS values: undefined, functions, non-finite numbers, toJSON, boxed values', () => {
    const v = {
      a: undefined,
      b: () => 1,
      c: [undefined, () => 2, NaN, -Infinity, -0],
      d: new Date(0),
      e: Object(3),
      f: Object('s'),
      g: { toJSON: (k: string) => `key:${k}` },
      h: {},
      i: [],
    };
    for (const indent of [0, 1, 2]) assert.equal(text(jsonPieces(v, indent)), JSON.stringify(v, null, indent));
  });

  it('throws on a cycle, as JSON.stringify does', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    assert.throws(() => text(jsonPieces(a)), /circular/);
  });

  it('writes a long string in slices, never between the halves of a surrogate pair', () => {
    const long = `${'é'.repeat(300_000)}😀${'"\\\n'.repeat(100_000)}\ud800`;
    const pieces = [...jsonPieces({ long }, 1)];
    assert.ok(pieces.length > 2, 'several pieces');
    assert.ok(pieces.every((p) => typeof p === 'string' && p.length <= PIECE_CHARS * 2));
    assert.equal(pieces.join(''), JSON.stringify({ long }, null, 1));
  });

  it(
    'serializes a stream output kept as pieces (strings and raw bytes) as its joined text, ' + 'without reading `text`',
    () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              anyString,
              anyString.map((s) => ({ raw: s })),
            ),
            { maxLength: 6 },
          ),
          (spec) => {
            const parts = spec.map((p) =>
              typeof p === 'string' ? p : RawJsonText.of(Buffer.from(JSON.stringify(p.raw).slice(1, -1)))!,
            );
            const out = streamOutput('stdout', parts);
            const joined = spec.map((p) => (typeof p === 'string' ? p : p.raw)).join('');
            assert.equal(out.text, joined);
            const nb = { cells: [{ outputs: [out, copyOutput(out)] }] };
            assert.deepEqual(JSON.parse(text(jsonPieces(nb, 1))), {
              cells: [
                {
                  outputs: [
                    { output_type: 'stream', name: 'stdout', text: joined },
                    { output_type: 'stream', name: 'stdout', text: joined },
                  ],
                },
              ],
            });
          },
        ),
        { numRuns: 300 },
      );
    },
  );

  it('yields raw parts as the very bytes that arrived (no copy)', () => {
    const raw = RawJsonText.of(Buffer.from('a\\nb'.repeat(100_000)))!;
    const pieces = [...jsonPieces({ o: streamOutput('stderr', ['x', raw]) })];
    assert.ok(pieces.includes(raw.bytes));
  });

  it('jsonStringPieces keeps a pair split between two string parts', () => {
    const pair = '😀';
    assert.equal(text(jsonStringPieces([`a${pair[0]!}`, `${pair[1]!}b`])), JSON.stringify(`a${pair}b`));
  });
});

describe('stream outputs kept as pieces', () => {
  it('assigning text replaces the pieces; copies share them until then', () => {
    const o = streamOutput('stdout', ['a', 'b']);
    const c = copyOutput(o);
    assert.deepEqual(textParts(c), ['a', 'b']);
    o.text = 'z';
    assert.equal(o.text, 'z');
    assert.equal(c.text, 'ab');
    assert.deepEqual(Object.keys(o), ['output_type', 'name', 'text']);
    assert.deepEqual({ ...o }, { output_type: 'stream', name: 'stdout', text: 'z' });
  });
});
