/**
 * Checks on the rich form's values that walk the whole JSON (grammar.ts): text that is not Unicode
 * (a lone surrogate, a NUL outside parameters) and parameters read again with exact numbers. Pure.
 * @module
 */
import { NbtError } from '../errors.js';
import { JsonSyntaxError, parseExactJson, type Parameters, type ParamValue } from '../notebook/translators/values.js';

/** A lone UTF-16 surrogate: a string that holds one is not Unicode text (no UTF-8 can carry it). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Refuses strings that are not text: a lone surrogate anywhere (keys too), and a NUL outside
 * `parameters` (a server, a path, a kernel name or a key never holds one; a parameter may, as
 * Python's strings do). Iterative, so no nesting depth reaches the stack.
 */
export function checkText(root: Record<string, unknown>): void {
  // Each entry knows its parent and key; a path is spelled out only for the error.
  interface Entry {
    v: unknown;
    key: string | number;
    parent?: Entry;
    inParameters: boolean;
  }
  const pathOf = (e: Entry | undefined): string => {
    const keys: Array<string | number> = [];
    for (let x = e; x?.parent !== undefined; x = x.parent) keys.unshift(x.key);
    return keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('') || 'data';
  };
  const stack: Entry[] = [{ v: root, key: '', inParameters: false }];
  while (stack.length > 0) {
    const e = stack.pop()!;
    const v = e.v;
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) {
        const field = pathOf(e);
        throw msgError(field, `field "${field}" holds a lone UTF-16 surrogate (\\ud800-\\udfff): not Unicode text`);
      }
      if (!e.inParameters && v.includes('\u0000')) {
        const field = pathOf(e);
        throw msgError(field, `field "${field}" holds a NUL character`);
      }
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x: unknown = v[i];
        if (typeof x === 'object' || typeof x === 'string')
          stack.push({ v: x, key: i, parent: e, inParameters: e.inParameters });
      }
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (LONE_SURROGATE.test(k)) {
          const field = pathOf(e);
          throw msgError(field, `a key in "${field}" holds a lone UTF-16 surrogate: not Unicode text`);
        }
        if (typeof x === 'object' || typeof x === 'string') {
          const inParameters = e.inParameters || (e.parent === undefined && k === 'parameters');
          stack.push({ v: x, key: k, parent: e, inParameters });
        }
      }
    }
  }
}

/**
 * The parameters read again with exact numbers. A value JSON.parse took but the exact reader
 * refuses (a float beyond a double's range such as `1e400`, nesting deeper than 512) is a bad
 * message naming the parameter and the reason.
 */
export function exactParameters(text: string): Parameters {
  try {
    return (parseExactJson(text) as Record<string, ParamValue>).parameters as Parameters;
  } catch (e) {
    if (!(e instanceof JsonSyntaxError || e instanceof RangeError)) throw e;
    const path = (e as { path?: string }).path ?? '';
    const full = path.startsWith('.') ? path.slice(1) : path || 'parameters';
    const field = full.length > 80 ? `${full.slice(0, 79)}…` : full; // 512 levels of [0] say nothing more
    const reason = e instanceof JsonSyntaxError ? e.reason : e.message;
    throw msgError(field, `${field}: ${reason}`);
  }
}

function msgError(field: string, message: string): NbtError {
  return new NbtError('BAD_MESSAGE', message, { details: { field } });
}
