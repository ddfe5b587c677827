/**
 * Python translator: parameter values as Python literals that evaluate to exactly the given
 * value, written the way papermill's `PythonTranslator` writes them (without black formatting):
 * strings double-quoted through the `unicode_escape` codec (pure ASCII: `\n`, `\\`, `\"`, `\xe9`,
 * `\u20ac`, `\U0001f600`), `None`/`True`/`False`, lists `[a, b]`, dicts `{"k": v}`.
 *
 * Decisions beyond papermill (docs/function.md: "no value can inject code"):
 * - Names must be Python identifiers (XID, NFKC-normal, not a keyword), else the parameter is refused.
 * - A lone surrogate is written `\udXXX`, which Python keeps in its `str`: the value round-trips.
 * - A float with an integral value keeps a float literal (`1.0`, `-0.0`, `1e300`); integers beyond
 *   2^53 arrive exact when read with `parseExactJson`; integers over 4300 digits are written in hex
 *   (Python 3.11+ refuses longer decimal literals).
 *
 * Spec: docs/function.md; https://github.com/nteract/papermill/blob/main/papermill/translators.py ;
 * https://docs.python.org/3/reference/lexical_analysis.html#string-and-bytes-literals
 * @module
 */
import { codePoints, hex, renderLiteral, TranslateError, type LiteralSyntax } from './literal.js';
import { floatText, JsonNumber, type ParamValue } from './values.js';

/** Python 3 keywords: names that cannot be assigned (soft keywords such as `match` can). */
const KEYWORDS = new Set([
  'False',
  'None',
  'True',
  'and',
  'as',
  'assert',
  'async',
  'await',
  'break',
  'class',
  'continue',
  'def',
  'del',
  'elif',
  'else',
  'except',
  'finally',
  'for',
  'from',
  'global',
  'if',
  'import',
  'in',
  'is',
  'lambda',
  'nonlocal',
  'not',
  'or',
  'pass',
  'raise',
  'return',
  'try',
  'while',
  'with',
  'yield',
]);

/** Python's limit on the digits of a decimal int literal (3.11+, `sys.get_int_max_str_digits()`). */
const MAX_DECIMAL_DIGITS = 4300;

/** Why `name` cannot be a Python variable name, or undefined when it can. */
export function pythonNameProblem(name: string): string | undefined {
  if (!/^[\p{XID_Start}_]\p{XID_Continue}*$/u.test(name)) return 'is not a Python identifier';
  if (KEYWORDS.has(name)) return 'is a Python keyword';
  // Python folds identifiers to NFKC, so "ﬁ" would assign `fi`: refuse rather than surprise.
  if (name !== name.normalize('NFKC')) return 'is not in Unicode NFKC form (Python would assign a different name)';
  return undefined;
}

/** A double-quoted Python string literal for `s`, exactly as papermill writes it (ASCII only). */
function pythonString(s: string): string {
  let out = '"';
  for (const cp of codePoints(s)) {
    if (cp === 0x5c) out += '\\\\';
    else if (cp === 0x22) out += '\\"';
    else if (cp === 0x09) out += '\\t';
    else if (cp === 0x0a) out += '\\n';
    else if (cp === 0x0d) out += '\\r';
    else if (cp >= 0x20 && cp < 0x7f) out += String.fromCharCode(cp);
    else if (cp < 0x100) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return `${out}"`;
}

/** A Python int or float literal: ints stay ints, floats stay floats, values stay exact. */
function pythonNumber(v: number | JsonNumber): string {
  if (v instanceof JsonNumber) {
    if (v.isFloat) return v.text;
    const digits = v.text.replace('-', '');
    if (digits.length <= MAX_DECIMAL_DIGITS) return v.text;
    return `${v.text.startsWith('-') ? '-' : ''}0x${BigInt(digits).toString(16)}`;
  }
  if (!Number.isFinite(v)) throw new TranslateError(`${v} is not a JSON number`, '');
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) return String(v);
  // A JS number beyond 2^53 (or -0) can only be a double: write it as the float it is.
  return Number.isInteger(v) || Object.is(v, -0) ? floatText(v) : String(v);
}

const SYNTAX: LiteralSyntax = {
  scalar(v) {
    if (v === null) return 'None';
    if (v === true) return 'True';
    if (v === false) return 'False';
    if (typeof v === 'string') return pythonString(v);
    return pythonNumber(v);
  },
  list: (items) => `[${items.join(', ')}]`,
  dict: (entries) => `{${entries.map(([k, v]) => `${pythonString(k)}: ${v}`).join(', ')}}`,
  // CPython's tokenizer refuses more than 200 nested brackets.
  maxDepth: 200,
};

/** The Python literal for a parameter value. @throws TranslateError for a value that is not typed JSON. */
export function pythonLiteral(v: ParamValue): string {
  return renderLiteral(v, SYNTAX);
}
