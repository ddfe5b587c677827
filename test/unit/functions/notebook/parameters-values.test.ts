/**
 * Unit: exact JSON reading of parameter values (functions/notebook/translators/values.ts): numbers
 * keep their text, "__proto__" is a plain key, the verdict agrees with JSON.parse, and
 * stringifyExactJson writes the number text back (pure, table-driven).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseExactJson, stringifyExactJson } from '../../../../functions/notebook/translators/values.js';
import { shape } from './json-shape.js';

describe('parseExactJson', () => {
  const exact: Array<[string, unknown]> = [
    ['1', 1],
    ['-0', 0],
    ['1.5', 1.5],
    ['1.0', { num: '1.0' }],
    ['-0.0', { num: '-0.0' }],
    ['1e5', { num: '1e5' }],
    ['1E+2', { num: '1E+2' }],
    ['1e300', { num: '1e300' }],
    ['1e-7', 1e-7],
    ['9007199254740991', 9007199254740991],
    ['9007199254740993', { num: '9007199254740993' }],
    ['-12345678901234567890', { num: '-12345678901234567890' }],
    ['[1, 2.0, {"a": [true, false, null, "x"]}]', [1, { num: '2.0' }, { a: [true, false, null, 'x'] }]],
    ['"\\ud800\\u00e9\\n"', '\ud800é\n'],
    [' {"__proto__": 1} ', { ['__proto__']: 1 }],
  ];
  for (const [text, want] of exact) {
    test(`reads ${text} exactly`, () => assert.deepEqual(shape(parseExactJson(text)), want));
  }

  test('a "__proto__" key is an own property, not the prototype', () => {
    const v = parseExactJson('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  // Same verdict as JSON.parse on every text, and the same value when no number needs keeping.
  const corpus = [
    '{}',
    '[]',
    '""',
    '"a\\"b"',
    'true',
    'null',
    '[1,]',
    '{"a":1,}',
    '01',
    '1.',
    '.5',
    '+1',
    '1e',
    'NaN',
    'Infinity',
    "'x'",
    '"\t"',
    '"\\x41"',
    '[1] [2]',
    '{"a" 1}',
    '{a:1}',
    'tru',
    '',
    ' ',
    '"unterminated',
    '[[[]]]',
    '{"a":{"b":[1,{"c":"d"}]}}',
    '-',
    '-01',
    '1e+',
    '"\\u12"',
  ];
  for (const text of corpus) {
    test(`agrees with JSON.parse on ${JSON.stringify(text)}`, () => {
      let want: unknown;
      let threw = false;
      try {
        want = JSON.parse(text);
      } catch {
        threw = true;
      }
      if (threw) assert.throws(() => parseExactJson(text), SyntaxError);
      else assert.deepEqual(parseExactJson(text), want);
    });
  }

  test('refuses numbers beyond a double and nesting past 512', () => {
    assert.throws(() => parseExactJson('1e400'), /out of range/);
    assert.deepEqual(
      shape(parseExactJson(`1${'0'.repeat(400)}`)),
      { num: `1${'0'.repeat(400)}` },
      'integers have no range limit',
    );
    assert.throws(() => parseExactJson('['.repeat(600) + ']'.repeat(600)), /deeper than 512/);
  });

  test('stringifyExactJson writes the number text back', () => {
    const text = '{"a":[1,2.0,-0.0,12345678901234567890,"é"],"b":{"c":null}}';
    assert.equal(stringifyExactJson(parseExactJson(text)), text);
    assert.equal(JSON.stringify(parseExactJson('[1.0]')), '[1]', 'plain JSON gets the nearest double');
  });
});
