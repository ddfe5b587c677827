/**
 * Unit: parameter values as Python and R literals, and which names each language accepts (pure,
 * table-driven). Literal texts for strings are papermill's (`unicode_escape` + `\"`), checked against
 * Python in test/integration/functions/notebook/python-literals.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findTranslator, translateParameters } from '../../../../functions/notebook/parameters.js';
import { pythonLiteral, pythonNameProblem } from '../../../../functions/notebook/translators/python.js';
import { rLiteral, rNameProblem } from '../../../../functions/notebook/translators/r.js';
import { JsonNumber, type ParamValue } from '../../../../functions/notebook/translators/values.js';

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
