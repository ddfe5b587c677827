/**
 * Shared parameter test data (not a test file): hostile strings, a value normalizer that keeps
 * int/float and exact values apart, and a seeded generator of random values.
 */
import { JsonNumber, type ParamValue } from '../../../../functions/notebook/translators/values.js';

/** Strings that break naive quoting, escaping or encoding. */
export const HOSTILE: string[] = [
  '',
  "'",
  '"',
  '"""',
  "'''",
  '\\',
  '\\\\',
  'ends with backslash\\',
  '\\"',
  "\\'",
  'a\nb',
  'a\r\nb',
  '\t',
  '\0',
  '\x7f',
  '\x1b[31m',
  'héllo wörld €',
  '😀👍🏽',
  '\u2028\u2029',
  '\u202e reversed',
  '\ufeff',
  '\ud800',
  '\udfff\ud800',
  'a\ud83d',
  '\\N{BULLET}',
  '\\u0041',
  '\\x41',
  "'); import os; os.system('x')#",
  '"); import os; os.system("touch /tmp/pwned") #',
  '"""; import os; """',
  '${x} %(x)s {x} {{}}',
  '# comment',
  '\n# Parameters\nx = 1\n',
  'x = 1',
  'print("x")',
  '\x00\x01\x02',
  'ﬁ',
  '\u0301e',
  'long '.repeat(20_000),
];

/** A comparable form: ints as `{i: digits}`, floats as `{f: value}` (-0 kept), containers recursed. */
export function normalize(v: ParamValue | undefined): unknown {
  if (v instanceof JsonNumber)
    return v.isFloat ? { f: Object.is(Number(v.text), -0) ? '-0' : Number(v.text) } : { i: BigInt(v.text).toString() };
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && !Object.is(v, -0)) return { i: String(v) };
    return { f: Object.is(v, -0) ? '-0' : v };
  }
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, normalize(x)]);
  return v;
}

export { seeded } from '../../../helpers/seeded.js';

const SPECIAL = ['"', "'", '\\', '\n', '\r', '\t', '\0', '#', '{', '}', '\u2028', '\x7f', '\x85', '\xa0'];

/** A random string: ASCII, specials, BMP, astral characters and lone surrogates. */
export function randomString(rand: () => number): string {
  const len = Math.floor(rand() * 24);
  let s = '';
  for (let i = 0; i < len; i++) {
    const k = rand();
    if (k < 0.35) s += String.fromCharCode(0x20 + Math.floor(rand() * 95));
    else if (k < 0.6) s += SPECIAL[Math.floor(rand() * SPECIAL.length)];
    else if (k < 0.75) s += String.fromCharCode(Math.floor(rand() * 0x10000));
    else if (k < 0.9) s += String.fromCodePoint(0x10000 + Math.floor(rand() * 0xfffff));
    else s += String.fromCharCode(0xd800 + Math.floor(rand() * 0x800));
  }
  return s;
}

/** A random parameter value up to `depth` levels deep. */
export function randomValue(rand: () => number, depth: number): ParamValue {
  const k = rand();
  if (depth > 0 && k < 0.12) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth - 1));
  if (depth > 0 && k < 0.22)
    return Object.fromEntries(
      Array.from({ length: Math.floor(rand() * 4) }, () => [randomString(rand), randomValue(rand, depth - 1)]),
    );
  if (k < 0.6) return randomString(rand);
  if (k < 0.68) return Math.floor((rand() - 0.5) * 2 ** 40);
  if (k < 0.76) return (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
  if (k < 0.8) return new JsonNumber(`${Math.floor(rand() * 1000)}.0`);
  if (k < 0.84) {
    // Drawn in this order: the sign, the leading digit, then 30 more digits.
    const sign = rand() < 0.5 ? '-' : '';
    const lead = Math.floor(rand() * 9) + 1;
    const digits = Array.from({ length: 30 }, () => Math.floor(rand() * 10)).join('');
    return new JsonNumber(`${sign}${lead}${digits}`);
  }
  if (k < 0.9) return rand() < 0.5;
  return null;
}
