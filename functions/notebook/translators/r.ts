/**
 * R translator, after papermill's `RTranslator`: `NULL`, `TRUE`/`FALSE`, numbers as written,
 * lists `list(a, b)`, named lists `list("k" = v)`, and leading underscores dropped from names
 * (R names cannot start with `_`). Unlike papermill, strings use R's own escapes (`\u00e9`,
 * `\U0001f600`) rather than Python's `\xe9`, which R would read as a Latin-1 byte; strings R cannot
 * hold (NUL, lone surrogates) are refused, and so are names that are not syntactic R names.
 * Numbers are R doubles: integers beyond 2^53 cannot stay exact in R.
 *
 * Spec: docs/function.md; https://github.com/nteract/papermill/blob/main/papermill/translators.py ;
 * https://cran.r-project.org/doc/manuals/r-release/R-lang.html#Literal-constants
 * @module
 */
import { codePoints, hex, renderLiteral, TranslateError, type LiteralSyntax } from './literal.js';
import { JsonNumber, type ParamValue } from './values.js';

const RESERVED = new Set([
  'if',
  'else',
  'repeat',
  'while',
  'function',
  'for',
  'next',
  'break',
  'TRUE',
  'FALSE',
  'NULL',
  'Inf',
  'NaN',
  'NA',
  'NA_integer_',
  'NA_real_',
  'NA_character_',
  'NA_complex_',
  'in',
]);

/** The name R assigns for `name` (papermill drops leading underscores). */
export function rName(name: string): string {
  return name.replace(/^_+/, '');
}

/** Why `name` (after {@link rName}) cannot be an R variable name, or undefined when it can. */
export function rNameProblem(name: string): string | undefined {
  const n = rName(name);
  if (n === '') return 'has nothing left once the leading underscores R cannot take are dropped';
  if (!/^(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*$/.test(n))
    return 'is not a syntactic R name (ASCII letters, digits, "." and "_")';
  if (RESERVED.has(n) || /^\.\.(?:\.|[0-9]+)$/.test(n)) return 'is an R reserved word';
  return undefined;
}

/** A double-quoted R string literal for `s`. @throws TranslateError for NUL or a lone surrogate. */
function rString(s: string): string {
  let out = '"';
  for (const cp of codePoints(s)) {
    if (cp === 0) throw new TranslateError('R strings cannot hold the NUL character', '');
    if (cp >= 0xd800 && cp <= 0xdfff)
      throw new TranslateError(`R strings cannot hold a lone surrogate (\\u${hex(cp, 4)})`, '');
    if (cp === 0x5c) out += '\\\\';
    else if (cp === 0x22) out += '\\"';
    else if (cp === 0x09) out += '\\t';
    else if (cp === 0x0a) out += '\\n';
    else if (cp === 0x0d) out += '\\r';
    else if (cp >= 0x20 && cp < 0x7f) out += String.fromCharCode(cp);
    else if (cp < 0x80) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return `${out}"`;
}

const SYNTAX: LiteralSyntax = {
  scalar(v) {
    if (v === null) return 'NULL';
    if (v === true) return 'TRUE';
    if (v === false) return 'FALSE';
    if (typeof v === 'string') return rString(v);
    if (v instanceof JsonNumber) return v.text;
    if (!Number.isFinite(v)) throw new TranslateError(`${v} is not a JSON number`, '');
    return Object.is(v, -0) ? '-0.0' : String(v);
  },
  list: (items) => `list(${items.join(', ')})`,
  dict: (entries) => `list(${entries.map(([k, v]) => `${rString(k)} = ${v}`).join(', ')})`,
  // R's parser keeps a context stack of 50 nested calls; stay under it.
  maxDepth: 40,
};

/** The R literal for a parameter value. @throws TranslateError for a value R cannot take. */
export function rLiteral(v: ParamValue): string {
  return renderLiteral(v, SYNTAX);
}
