/**
 * Unit: parameter injection into a notebook (placement, papermill's cell and metadata, the
 * translator chosen from the notebook's language, refused names and values), `-p NAME VALUE`
 * parsing and merging (pure, table-driven). Values, literals and parameters files are in the
 * sibling parameters-*.test.ts files.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ICell } from '@jupyterlab/nbformat';
import type { Notebook } from '../../../../functions/notebook/model.js';
import {
  findTranslator,
  injectParameters,
  INJECTED_TAG,
  mergeParameters,
  notebookLanguage,
  parseCliParameters,
  parseCliValue,
} from '../../../../functions/notebook/parameters.js';
import { JsonNumber, type ParamValue } from '../../../../functions/notebook/translators/values.js';
import { shape } from './json-shape.js';

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
