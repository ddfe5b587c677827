/**
 * Writing a parameter value as a literal of the kernel's language: the walk over typed JSON that
 * every translator shares (refusing what is not JSON, cycles and too-deep nesting), and the code
 * point helpers their string escapes use. Pure.
 *
 * Spec: docs/function.md (parameters).
 * @module
 */
import { JsonNumber } from './values.js';

/** Names the JS type of a value that is not a {@link ParamValue}, or undefined when it is one. */
function describeNonJson(v: unknown): string | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || v instanceof JsonNumber) return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : String(v);
  if (Array.isArray(v)) return undefined;
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    return proto === Object.prototype || proto === null
      ? undefined
      : `an object of type ${(v as object).constructor?.name ?? 'unknown'}`;
  }
  return typeof v === 'bigint' ? 'a bigint' : `a ${typeof v}`;
}

/** A value a translator cannot write; `path` locates it inside the parameter (`[2].name`). */
export class TranslateError extends Error {
  constructor(
    readonly reason: string,
    readonly path: string,
  ) {
    super(path === '' ? reason : `${reason} at ${path}`);
    this.name = 'TranslateError';
  }
}

/** How one language writes literals; {@link renderLiteral} walks the value with it. */
export interface LiteralSyntax {
  scalar(v: string | number | boolean | null | JsonNumber): string;
  list(items: string[]): string;
  /** Entries as (raw key, rendered value); the syntax quotes the key. */
  dict(entries: Array<[string, string]>): string;
  /** Deepest list/dict nesting the language's parser accepts. */
  maxDepth: number;
}

/**
 * Renders a parameter value with a language's literal syntax. Refuses (TranslateError, with the
 * path) what is not typed JSON: NaN, Infinity, undefined, functions, class instances, cycles,
 * and nesting deeper than the language accepts.
 */
export function renderLiteral(v: unknown, syntax: LiteralSyntax): string {
  const open = new Set<object>();
  const walk = (x: unknown, path: string, depth: number): string => {
    const bad = describeNonJson(x);
    if (bad !== undefined) throw new TranslateError(`${bad} is not a JSON value`, path);
    if (x === null || typeof x !== 'object' || x instanceof JsonNumber) {
      try {
        return syntax.scalar(x as string | number | boolean | null | JsonNumber);
      } catch (e) {
        throw e instanceof TranslateError && e.path === '' ? new TranslateError(e.reason, path) : e;
      }
    }
    if (depth >= syntax.maxDepth)
      throw new TranslateError(`lists and objects nest deeper than ${syntax.maxDepth} levels`, path);
    if (open.has(x)) throw new TranslateError('the value contains itself (a cycle)', path);
    open.add(x);
    try {
      if (Array.isArray(x)) return syntax.list(x.map((e, i) => walk(e, `${path}[${i}]`, depth + 1)));
      return syntax.dict(Object.entries(x).map(([k, e]) => [k, walk(e, `${path}[${JSON.stringify(k)}]`, depth + 1)]));
    } finally {
      open.delete(x);
    }
  };
  return walk(v, '', 0);
}

/** Splits a string into code points, keeping a lone surrogate as its own code unit. */
export function codePoints(s: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const hi = s.charCodeAt(i);
    if (hi >= 0xd800 && hi <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        out.push((hi - 0xd800) * 0x400 + (lo - 0xdc00) + 0x10000);
        i++;
        continue;
      }
    }
    out.push(hi);
  }
  return out;
}

/** Lower-case hex of `n`, zero-padded to `width`. */
export function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
