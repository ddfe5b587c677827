/**
 * Unit: parameter values, translators, injection, `-p` parsing and parameters files (pure, table-driven).
 * Literal texts for strings are papermill's (`unicode_escape` + `\"`), checked against Python in
 * test/integration/functions/notebook/python-literals.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ICell } from '@jupyterlab/nbformat';
import type { Notebook } from '../../../../functions/notebook/model.js';
import { parseParametersText } from '../../../../functions/notebook/parameters-file.js';
import {
  findTranslator,
  injectParameters,
  INJECTED_TAG,
  mergeParameters,
  notebookLanguage,
  parseCliParameters,
  parseCliValue,
  translateParameters,
} from '../../../../functions/notebook/parameters.js';
import { pythonLiteral, pythonNameProblem } from '../../../../functions/notebook/translators/python.js';
import { rLiteral, rNameProblem } from '../../../../functions/notebook/translators/r.js';
import {
  JsonNumber,
  parseExactJson,
  stringifyExactJson,
  type ParamValue,
} from '../../../../functions/notebook/translators/values.js';

/** A comparable form: JsonNumber → { num: text }. */
function shape(v: unknown): unknown {
  if (v instanceof JsonNumber) return { num: v.text };
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return Object.is(v, -0) ? '-0' : v;
}

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

describe('Python literals', () => {
  const table: Array<[string, ParamValue, string]> = [
    ['null', null, 'None'],
    ['true', true, 'True'],
    ['false', false, 'False'],
    ['int', 42, '42'],
    ['negative int', -7, '-7'],
    ['float', 0.1, '0.1'],
    ['tiny float', 1e-7, '1e-7'],
    ['integral float', new JsonNumber('1.0'), '1.0'],
    ['negative zero', -0, '-0.0'],
    ['huge float', new JsonNumber('1e300'), '1e300'],
    ['unsafe JS number is a float (same double)', 2 ** 60, '1152921504606847000.0'],
    ['1e21 as a JS number', 1e21, '1e+21'],
    ['big int', new JsonNumber('123456789012345678901234567890'), '123456789012345678901234567890'],
    ['string', 'hello', '"hello"'],
    ['double quote', 'say "hi"', '"say \\"hi\\""'],
    ['single quote', "it's", '"it\'s"'],
    ['triple quotes', '"""', '"\\"\\"\\""'],
    ['backslash', 'C:\\new', '"C:\\\\new"'],
    ['trailing backslash', 'a\\', '"a\\\\"'],
    ['newline, tab, CR', 'a\nb\tc\r', '"a\\nb\\tc\\r"'],
    ['NUL and DEL', '\0\x7f', '"\\x00\\x7f"'],
    ['latin-1', 'é', '"\\xe9"'],
    ['BMP', '€\u2028\u202e', '"\\u20ac\\u2028\\u202e"'],
    ['astral', '😀', '"\\U0001f600"'],
    ['lone surrogate', '\ud800x', '"\\ud800x"'],
    ['reversed pair', '\udc00\ud800', '"\\udc00\\ud800"'],
    ['named escape stays text', '\\N{BULLET}', '"\\\\N{BULLET}"'],
    ['injection attempt', "'); import os; os.system('x')#", "\"'); import os; os.system('x')#\""],
    ['list', [1, 'a', null], '[1, "a", None]'],
    ['empty list', [], '[]'],
    ['empty dict', {}, '{}'],
    ['dict', { a: 1, 'b"': [true] }, '{"a": 1, "b\\"": [True]}'],
  ];
  for (const [name, value, want] of table) test(name, () => assert.equal(pythonLiteral(value), want));

  test('an int over 4300 digits is written in hex (same value)', () => {
    const digits = '9'.repeat(5000);
    const lit = pythonLiteral(new JsonNumber(`-${digits}`));
    assert.match(lit, /^-0x[0-9a-f]+$/);
    assert.equal(BigInt(lit.slice(1)).toString(), digits);
  });

  const refused: Array<[string, unknown, RegExp]> = [
    ['NaN', NaN, /NaN is not a JSON value/],
    ['Infinity', [1, Infinity], /Infinity is not a JSON value at \[1\]/],
    ['undefined', { a: undefined }, /undefined is not a JSON value at \["a"\]/],
    ['Date', new Date(0), /type Date/],
    ['bigint', 1n, /bigint/],
    ['too deep', JSON.parse('['.repeat(201) + ']'.repeat(201)), /deeper than 200/],
  ];
  for (const [name, value, why] of refused)
    test(`refuses ${name}`, () => assert.throws(() => pythonLiteral(value as ParamValue), why));

  test('refuses a cycle', () => {
    const a: unknown[] = [];
    a.push(a);
    assert.throws(() => pythonLiteral(a as ParamValue), /cycle/);
  });

  const names: Array<[string, RegExp | undefined]> = [
    ['x', undefined],
    ['_private', undefined],
    ['café', undefined],
    ['__proto__', undefined],
    ['match', undefined],
    ['x1', undefined],
    ['1x', /not a Python identifier/],
    ['x y', /not a Python identifier/],
    ['x=1;import os', /not a Python identifier/],
    ['', /not a Python/],
    ['class', /keyword/],
    ['None', /keyword/],
    ['ﬁ', /NFKC/],
    ['a-b', /not a Python identifier/],
  ];
  for (const [name, want] of names) {
    test(`name ${JSON.stringify(name)}`, () => {
      const p = pythonNameProblem(name);
      if (want) assert.match(p ?? '', want);
      else assert.equal(p, undefined);
    });
  }
});

describe('R literals', () => {
  const table: Array<[ParamValue, string]> = [
    [null, 'NULL'],
    [true, 'TRUE'],
    [false, 'FALSE'],
    [3, '3'],
    [new JsonNumber('1.0'), '1.0'],
    [-0, '-0.0'],
    ['a"b\\c\n', '"a\\"b\\\\c\\n"'],
    ['é😀', '"\\u00e9\\U0001f600"'],
    [[1, 'x'], 'list(1, "x")'],
    [{ k: [null] }, 'list("k" = list(NULL))'],
  ];
  for (const [value, want] of table) test(`R ${want}`, () => assert.equal(rLiteral(value), want));
  test('R refuses NUL and lone surrogates, with the path', () => {
    assert.throws(() => rLiteral(['ok', 'a\0']), /NUL character at \[1\]/);
    assert.throws(() => rLiteral({ s: '\ud800' }), /lone surrogate/);
  });
  const names: Array<[string, boolean]> = [
    ['x', true],
    ['_x', true],
    ['.x', true],
    ['x.y_z', true],
    ['.1x', false],
    ['__', false],
    ['if', false],
    ['é', false],
  ];
  for (const [name, ok] of names) test(`R name ${name}`, () => assert.equal(rNameProblem(name) === undefined, ok));
  test('R drops leading underscores from names (papermill)', () => {
    assert.equal(translateParameters({ _x: 1 }, findTranslator('R')), '# Parameters\nx = 1\n');
  });
});

function nb(
  cells: Array<{ tags?: string[]; source?: string; type?: 'code' | 'markdown' }>,
  extra: Partial<Notebook> = {},
): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: cells.map(
      (c, i): ICell =>
        c.type === 'markdown'
          ? { id: `c${i}`, cell_type: 'markdown', metadata: c.tags ? { tags: c.tags } : {}, source: c.source ?? '' }
          : {
              id: `c${i}`,
              cell_type: 'code',
              metadata: c.tags ? { tags: c.tags } : {},
              source: c.source ?? '',
              execution_count: null,
              outputs: [],
            },
    ),
    ...extra,
  };
}

let counter = 0;
const ids = (): string => `new${counter++}`;

describe('injectParameters', () => {
  const placement: Array<[string, Notebook, string[]]> = [
    [
      'after the parameters cell',
      nb([{ source: 'a' }, { tags: ['parameters'] }, { source: 'b' }]),
      ['c0', 'c1', '*', 'c2'],
    ],
    [
      'after the first of two parameters cells',
      nb([{ tags: ['parameters'] }, { tags: ['parameters'] }]),
      ['c0', '*', 'c1'],
    ],
    ['at the top without a parameters cell', nb([{ source: 'a' }, { source: 'b' }]), ['*', 'c0', 'c1']],
    [
      'in place of an earlier injected cell',
      nb([{ tags: ['parameters'] }, { source: 'x' }, { tags: [INJECTED_TAG] }]),
      ['c0', 'c1', '*'],
    ],
    ['after a tagged markdown cell too', nb([{ type: 'markdown', tags: ['parameters'] }, {}]), ['c0', '*', 'c1']],
  ];
  for (const [name, input, want] of placement) {
    test(`places the cell ${name}`, () => {
      const before = structuredClone(input);
      const out = injectParameters(input, { a: 1 }, undefined, { newId: () => '*' });
      assert.deepEqual(
        out.cells.map((c) => c.id),
        want,
      );
      assert.deepEqual(input, before, 'the input notebook is not changed');
    });
  }

  test("the new cell is papermill's: tags, source, empty outputs; metadata.papermill.parameters", () => {
    const out = injectParameters(
      nb([{ tags: ['parameters'], source: 'x = 0' }]),
      { x: 2, s: 'hé', f: new JsonNumber('1.0') },
      'python',
      { newId: () => 'abc' },
    );
    assert.deepEqual(out.cells[1], {
      id: 'abc',
      cell_type: 'code',
      metadata: { tags: ['injected-parameters'] },
      execution_count: null,
      source: '# Parameters\nx = 2\ns = "h\\xe9"\nf = 1.0\n',
      outputs: [],
    });
    assert.deepEqual((out.metadata as Record<string, unknown>).papermill, { parameters: { x: 2, s: 'hé', f: 1 } });
  });

  test('nbformat 4.4 is upgraded to 4.5 with new ids, as nbformat.v4.upgrade', () => {
    const old = nb([{ tags: ['parameters'] }, {}], { nbformat_minor: 4 });
    for (const c of old.cells) delete c.id;
    const out = injectParameters(old, { a: 1 }, undefined, { newId: ids });
    assert.equal(out.nbformat_minor, 5);
    assert.equal((out.metadata as Record<string, unknown>).orig_nbformat_minor, 4);
    assert.equal(new Set(out.cells.map((c) => c.id)).size, 3);
    assert.ok(out.cells.every((c) => typeof c.id === 'string' && /^new\d+$/.test(c.id)));
  });

  test('a colliding generated id is drawn again', () => {
    const seq = ['c0', 'c0', 'fresh'];
    const out = injectParameters(nb([{ tags: ['parameters'] }]), { a: 1 }, undefined, { newId: () => seq.shift()! });
    assert.deepEqual(
      out.cells.map((c) => c.id),
      ['c0', 'fresh'],
    );
  });

  test('a warning when there is no parameters cell; none when there is', () => {
    const warnings: string[] = [];
    injectParameters(nb([{}]), { a: 1 }, undefined, { onWarning: (w) => warnings.push(w) });
    injectParameters(nb([{ tags: ['parameters'] }]), { a: 1 }, undefined, { onWarning: (w) => warnings.push(w) });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /no cell tagged "parameters"/);
  });

  test('no parameters: an unchanged copy', () => {
    const input = nb([{ tags: ['parameters'] }]);
    const out = injectParameters(input, {}, 'cobol');
    assert.deepEqual(out, input);
    assert.notEqual(out, input);
  });

  const languages: Array<[string, string | undefined, Partial<Notebook>, string | RegExp]> = [
    ['kernelspec language', undefined, {}, 'python'],
    [
      'language_info when kernelspec has none',
      undefined,
      { metadata: { kernelspec: { name: 'x', display_name: 'x' }, language_info: { name: 'R' } } },
      'r',
    ],
    [
      'kernel name ir when nothing else says',
      undefined,
      { metadata: { kernelspec: { name: 'ir', display_name: 'R' } } },
      'r',
    ],
    ['explicit language wins', 'R', {}, 'r'],
    [
      'unknown language',
      undefined,
      { metadata: { kernelspec: { name: 'julia-1.9', display_name: 'Julia', language: 'julia' } } },
      /no translator for kernel language "julia"/,
    ],
    ['no language at all', undefined, { metadata: {} }, /no translator for kernel language null/],
  ];
  for (const [name, lang, extra, want] of languages) {
    test(`translator from ${name}`, () => {
      const input = nb([{}], extra);
      if (typeof want === 'string')
        assert.equal(
          findTranslator(
            lang ?? notebookLanguage(input),
            (input.metadata.kernelspec as { name?: string } | undefined)?.name,
          ).language,
          want,
        );
      else
        assert.throws(
          () => injectParameters(input, { a: 1 }, lang),
          (e: Error & { code?: string }) => e.code === 'BAD_MESSAGE' && want.test(e.message),
        );
    });
  }

  const badNames: Array<[string, RegExp]> = [
    ['x; import os', /"x; import os" is not a Python identifier/],
    ['def', /"def" is a Python keyword/],
  ];
  for (const [name, why] of badNames) {
    test(`refuses the parameter name ${JSON.stringify(name)}`, () => {
      assert.throws(
        () => injectParameters(nb([{}]), { ok: 1, [name]: 1 }),
        (e: Error & { code?: string; details?: { field?: string } }) =>
          e.code === 'BAD_MESSAGE' && why.test(e.message) && e.details?.field === `parameters.${name}`,
      );
    });
  }

  test('a value that is not JSON is refused naming the parameter and the path', () => {
    assert.throws(
      () => injectParameters(nb([{}]), { data: { list: [1, NaN] } }),
      /parameter "data": NaN is not a JSON value at \["list"\]\[1\]/,
    );
  });
});

describe('-p NAME VALUE and merging', () => {
  const values: Array<[string, unknown]> = [
    ['1', 1],
    ['1.0', { num: '1.0' }],
    ['-0.0', { num: '-0.0' }],
    ['true', true],
    ['null', null],
    ['"quoted"', 'quoted'],
    ['hello', 'hello'],
    ['True', 'True'],
    ['007', '007'],
    ['1e400', '1e400'],
    ['[1, "a"]', [1, 'a']],
    ['{"k": 2}', { k: 2 }],
    ['', ''],
    [' 5 ', 5],
    ["'single'", "'single'"],
    ['NaN', 'NaN'],
  ];
  for (const [text, want] of values)
    test(`-p x ${JSON.stringify(text)}`, () => assert.deepEqual(shape(parseCliValue(text)), want));

  test('a later -p overrides, keeping the first position; an empty name is a usage error', () => {
    assert.deepEqual(
      parseCliParameters([
        ['a', '1'],
        ['b', 'x'],
        ['a', '2'],
      ]),
      { a: 2, b: 'x' },
    );
    assert.deepEqual(
      Object.keys(
        parseCliParameters([
          ['a', '1'],
          ['b', 'x'],
          ['a', '2'],
        ]),
      ),
      ['a', 'b'],
    );
    assert.throws(
      () => parseCliParameters([[' ', '1']]),
      (e: Error & { code?: string }) => e.code === 'USAGE',
    );
  });

  test('mergeParameters: later sources win; __proto__ stays an own key', () => {
    const merged = mergeParameters(
      { a: 1, b: 1 },
      undefined,
      JSON.parse('{"b": 2, "__proto__": 3}') as Record<string, ParamValue>,
    );
    assert.deepEqual(Object.entries(merged), [
      ['a', 1],
      ['b', 2],
      ['__proto__', 3],
    ]);
    assert.equal(Object.getPrototypeOf(merged), Object.prototype);
  });
});

describe('parameters files', () => {
  const good: Array<[string, string, unknown]> = [
    [
      'p.yaml',
      'a: 1\nb: 1.0\nc: -0.0\nd: 12345678901234567890\ne: hello\nf: [1, x]\ng: {h: null}\ni: yes\nj: 2024-01-01\nk: 1e5\n',
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
