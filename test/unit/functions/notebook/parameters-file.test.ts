/**
 * Unit: parameters files (functions/notebook/parameters-file.ts): YAML and JSON read with exact
 * numbers, and every refused file a USAGE error naming the file (pure, table-driven).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseParametersText } from '../../../../functions/notebook/parameters-file.js';
import { shape } from './json-shape.js';

describe('parameters files', () => {
  const good: Array<[string, string, unknown]> = [
    [
      'p.yaml',
      'a: 1\nb: 1.0\nc: -0.0\nd: 12345678901234567890\ne: hello\n' +
        'f: [1, x]\ng: {h: null}\ni: yes\nj: 2024-01-01\nk: 1e5\n',
      {
        a: 1,
        b: { num: '1.0' },
        c: { num: '-0.0' },
        d: { num: '12345678901234567890' },
        e: 'hello',
        f: [1, 'x'],
        g: { h: null },
        i: 'yes',
        j: '2024-01-01',
        k: { num: '100000.0' },
      },
    ],
    ['p.yml', '', {}],
    ['p.yaml', '# only a comment\n', {}],
    ['p.json', '{"a": 1.0, "b": [2.5]}', { a: { num: '1.0' }, b: [2.5] }],
    ['p.yaml', '{"a": 1.0}', { a: { num: '1.0' } }],
    ['p.yaml', '"__proto__": 1', { ['__proto__']: 1 }],
  ];
  for (const [label, text, want] of good)
    test(`reads ${label} ${JSON.stringify(text.slice(0, 30))}`, () =>
      assert.deepEqual(shape(parseParametersText(text, label)), want));

  const bad: Array<[string, string, RegExp]> = [
    ['p.yaml', 'a: .nan', /NaN and infinities/],
    ['p.yaml', '- 1\n- 2', /must hold a mapping/],
    ['p.json', '{"a": 1,}', /not valid JSON/],
    ['p.yaml', 'a: 1\na: 2', /not valid YAML/],
    ['p.yaml', 'a: [1', /not valid YAML/],
    ['p.json', '', /not valid JSON/],
    ['p.yaml', 'just text', /must hold a mapping/],
  ];
  for (const [label, text, why] of bad) {
    test(`refuses ${label} ${JSON.stringify(text)}`, () =>
      assert.throws(
        () => parseParametersText(text, label),
        (e: Error & { code?: string }) => e.code === 'USAGE' && why.test(e.message) && e.message.includes(label),
      ));
  }
});
