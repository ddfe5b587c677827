/**
 * A small typed reader for plain data (a parsed YAML document) that keeps the path of each
 * field, so every problem names `notebooks[1].schedules[0].cron` and what was expected.
 * Problems are collected, not thrown, so one run reports them all. Pure: no I/O.
 *
 * Spec: docs/deploy.md (Validation errors name the file, the path of the field and what was expected).
 * @module
 */

/** One problem found in a manifest. */
export interface FieldProblem {
  /** `notebooks[1].schedules[0].cron`, or `(root)`. */
  path: string;
  message: string;
}

/** Describes a value's type the way an error message should. */
export function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string "${v.length > 60 ? `${v.slice(0, 60)}…` : v}"`;
  return `${typeof v} ${String(v)}`;
}

/** Collects problems; each accessor answers undefined (and records why) when the value is wrong. */
export class FieldReader {
  readonly problems: FieldProblem[] = [];

  problem(path: string, message: string): undefined {
    this.problems.push({ path: path === '' ? '(root)' : path, message });
    return undefined;
  }

  /** A mapping; unknown keys are problems (they are usually typos), listing the known ones. */
  mapping(v: unknown, path: string, known: readonly string[]): Record<string, unknown> | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return this.problem(path, `expected a mapping (key: value), got ${typeName(v)}`);
    const o = v as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!known.includes(key)) this.problem(join(path, key), `unknown field "${key}" (known: ${known.join(', ')})`);
    }
    return o;
  }

  list(v: unknown, path: string, opts: { min?: number } = {}): unknown[] | undefined {
    if (!Array.isArray(v)) return this.problem(path, `expected a list, got ${typeName(v)}`);
    if (opts.min !== undefined && v.length < opts.min)
      return this.problem(path, `expected at least ${opts.min} item${opts.min === 1 ? '' : 's'}, got ${v.length}`);
    return v;
  }

  string(
    v: unknown,
    path: string,
    opts: { pattern?: RegExp; expect?: string; optional?: boolean } = {},
  ): string | undefined {
    if (v === undefined && opts.optional) return undefined;
    if (typeof v !== 'string' || v.trim() === '')
      return this.problem(path, `expected ${opts.expect ?? 'a non-empty string'}, got ${typeName(v)}`);
    if (opts.pattern && !opts.pattern.test(v))
      return this.problem(
        path,
        `expected ${opts.expect ?? `a string matching ${String(opts.pattern)}`}, got ${typeName(v)}`,
      );
    return v;
  }

  integer(v: unknown, path: string, opts: { min: number; max: number; optional?: boolean }): number | undefined {
    if (v === undefined && opts.optional) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < opts.min || v > opts.max) {
      return this.problem(path, `expected an integer from ${opts.min} to ${opts.max}, got ${typeName(v)}`);
    }
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T | undefined {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
      return this.problem(path, `expected one of ${allowed.join(', ')}, got ${typeName(v)}`);
    return v as T;
  }

  /** A mapping of strings to strings (labels, attributes). */
  stringMap(v: unknown, path: string, keyPattern: RegExp, expect: string): Record<string, string> | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return this.problem(path, `expected a mapping of strings, got ${typeName(v)}`);
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (!keyPattern.test(k)) this.problem(join(path, k), `expected ${expect} as the key, got "${k}"`);
      else if (typeof val !== 'string') this.problem(join(path, k), `expected a string value, got ${typeName(val)}`);
      else out[k] = val;
    }
    return out;
  }
}

/** `a.b`, `a[2]`: extends a field path. */
export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Parses a duration given as whole seconds (`3600`) or with a unit (`90s`, `15m`, `1h`) into seconds. */
export function durationSeconds(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)\s*(s|m|h)?$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}
