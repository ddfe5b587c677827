/**
 * Parameter values: typed JSON, read exactly. `JSON.parse` turns `1.0` into the integer 1 and
 * rounds `12345678901234567890`; papermill (Python) keeps both. {@link parseExactJson} keeps them
 * as {@link JsonNumber} (the number's own text), so a float stays a float and a big integer stays
 * exact all the way into the kernel. Every other number is a plain JS `number`. Pure.
 *
 * Spec: docs/function.md; RFC 8259 (JSON numbers).
 * @module
 */

/** A parameter value: JSON, with numbers that `number` cannot hold exactly kept as {@link JsonNumber}. */
export type ParamValue = string | number | boolean | null | JsonNumber | ParamValue[] | { [key: string]: ParamValue };

/** Named parameters, in the order they were given. */
export type Parameters = Record<string, ParamValue>;

const NUMBER_RE = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * A JSON number kept as its text: a float whose value is integral (`1.0`, `1e5`, `-0.0`) or an
 * integer outside ±2^53 (of any size). Serializes (`toJSON`) as the nearest double (null beyond a
 * double's range), since plain JSON output cannot carry the text; {@link stringifyExactJson} writes the text.
 */
export class JsonNumber {
  /** The number as written, in JSON number grammar. */
  readonly text: string;

  constructor(text: string) {
    const m = NUMBER_RE.exec(text);
    if (!m) throw new TypeError(`not a JSON number: ${JSON.stringify(text)}`);
    // Integers have no range limit (Python's are unbounded); a float must fit a double.
    if ((m[1] !== undefined || m[2] !== undefined) && !Number.isFinite(Number(text)))
      throw new RangeError(`number ${text} is out of range for a 64-bit float`);
    this.text = text;
  }

  /** True when written with a fraction or exponent (Python's `json` reads it as float). */
  get isFloat(): boolean {
    return /[.eE]/.test(this.text);
  }

  /** The nearest double. */
  valueOf(): number {
    return Number(this.text);
  }

  toJSON(): number | null {
    const n = Number(this.text);
    return Number.isFinite(n) ? n : null;
  }
}

/**
 * The exact form of a number read from text: a plain `number` when that loses nothing (a safe
 * integer, or a float whose value is not integral), else a {@link JsonNumber}.
 */
function exactNumber(text: string): number | JsonNumber {
  const m = NUMBER_RE.exec(text);
  if (!m) throw new TypeError(`not a JSON number: ${JSON.stringify(text)}`);
  const n = Number(text);
  const isFloat = m[1] !== undefined || m[2] !== undefined;
  if (isFloat) {
    if (!Number.isFinite(n)) throw new RangeError(`number ${text} is out of range for a 64-bit float`);
    return Number.isInteger(n) ? new JsonNumber(text) : n;
  }
  // `-0` written as an integer is the integer 0 (as in Python); only a float keeps the sign.
  return Number.isSafeInteger(n) ? n + 0 : new JsonNumber(text);
}

/** Text of a float-valued double that Python (and JSON) read back as the same float: `1` → `1.0`, -0 → `-0.0`. */
export function floatText(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`${n} is not a finite number`);
  if (Object.is(n, -0)) return '-0.0';
  const s = String(n);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * Thrown by {@link parseExactJson}: `position` is the offset in the text, `path` where in the value
 * it happened (`.a[2]`, empty at the top), `reason` the message without them.
 */
export class JsonSyntaxError extends SyntaxError {
  path = '';
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(`${reason} at position ${position}`);
    this.name = 'JsonSyntaxError';
  }
}

/** The end (after the closing quote) of the JSON string that opens at `start`, or -1 with `bad` set. */
function stringEnd(text: string, start: number): { end: number; bad?: string; at?: number } {
  // A loop, not a regular expression: a backtracking regex over megabytes of escapes overflows the stack.
  for (let i = start + 1; i < text.length; ) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return { end: i + 1 };
    if (c < 0x20) return { end: -1, bad: 'control character in a string', at: i };
    if (c !== 0x5c) {
      i++;
      continue;
    }
    const e = text[i + 1];
    if (e !== undefined && SIMPLE_ESCAPES.has(e)) {
      i += 2;
      continue;
    }
    if (e === 'u' && HEX4_RE.test(text.slice(i + 2, i + 6))) {
      i += 6;
      continue;
    }
    return { end: -1, bad: 'bad escape in a string', at: i };
  }
  return { end: -1, bad: 'unterminated string', at: text.length };
}

const MAX_DEPTH = 512;
const SIMPLE_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX4_RE = /^[0-9a-fA-F]{4}$/;
const NUMBER_TOKEN_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WS_RE = /[ \t\n\r]*/y;

/**
 * Parses JSON text (RFC 8259, as strict as `JSON.parse`) keeping numbers exact (see
 * {@link exactNumber}). Objects are plain objects whose `__proto__` key, if any, is an own
 * property, as with `JSON.parse`. Nesting deeper than 512 levels is refused.
 * @throws JsonSyntaxError naming the position; RangeError for a number beyond a double's range.
 */
export function parseExactJson(text: string): ParamValue {
  let pos = 0;
  const ws = (): void => {
    WS_RE.lastIndex = pos;
    WS_RE.exec(text);
    pos = WS_RE.lastIndex;
  };
  const fail = (what: string): never => {
    throw new JsonSyntaxError(
      pos >= text.length ? 'unexpected end of JSON' : `${what} ${JSON.stringify(text[pos])}`,
      pos,
    );
  };
  const string = (): string => {
    const s = stringEnd(text, pos);
    if (s.end < 0) {
      pos = s.at!;
      throw new JsonSyntaxError(s.bad!, pos);
    }
    const v = JSON.parse(text.slice(pos, s.end)) as string;
    pos = s.end;
    return v;
  };
  // Where in the value the parser is, for errors: keys and indexes, kept as a stack (cheap).
  const path: Array<string | number> = [];
  const located = (e: unknown): unknown => {
    if (e instanceof JsonSyntaxError && e.path === '') e.path = formatPath(path);
    if (e instanceof RangeError && !(e as { path?: string }).path) Object.assign(e, { path: formatPath(path) });
    return e;
  };
  const value = (depth: number): ParamValue => {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError(`nesting deeper than ${MAX_DEPTH} levels`, pos);
    ws();
    const c = text[pos];
    if (c === '"') return string();
    if (c === '{') {
      pos++;
      const obj: { [key: string]: ParamValue } = {};
      ws();
      if (text[pos] === '}') {
        pos++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail('expected a string key, got');
        const key = string();
        ws();
        if (text[pos] !== ':') fail('expected ":", got');
        pos++;
        path.push(key);
        Object.defineProperty(obj, key, {
          value: value(depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
        path.pop();
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === '}') {
          pos++;
          return obj;
        }
        fail('expected "," or "}", got');
      }
    }
    if (c === '[') {
      pos++;
      const arr: ParamValue[] = [];
      ws();
      if (text[pos] === ']') {
        pos++;
        return arr;
      }
      for (;;) {
        path.push(arr.length);
        arr.push(value(depth + 1));
        path.pop();
        ws();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] === ']') {
          pos++;
          return arr;
        }
        fail('expected "," or "]", got');
      }
    }
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    NUMBER_TOKEN_RE.lastIndex = pos;
    const m = NUMBER_TOKEN_RE.exec(text);
    if (!m) return fail('unexpected');
    pos = NUMBER_TOKEN_RE.lastIndex;
    return exactNumber(m[0]);
  };
  try {
    const v = value(0);
    ws();
    if (pos < text.length) fail('unexpected');
    return v;
  } catch (e) {
    throw located(e);
  }
}

/** `.a[2]["b c"]`: where a value sits inside a parsed document. */
function formatPath(path: ReadonlyArray<string | number>): string {
  const step = (k: string | number): string =>
    typeof k === 'number' ? `[${k}]` : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
  return path.map(step).join('');
}

/** JSON text of a value, writing each {@link JsonNumber} as its own text (so `1.0` stays `1.0`). */
export function stringifyExactJson(v: ParamValue): string {
  if (v instanceof JsonNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map(stringifyExactJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${stringifyExactJson(x)}`)
      .join(',')}}`;
  }
  const s = JSON.stringify(v);
  if (s === undefined || (typeof v === 'number' && !Number.isFinite(v)))
    throw new TypeError(`not a JSON value: ${String(v)}`);
  return s;
}

/** The value as plain JSON (each {@link JsonNumber} becomes its nearest double), for metadata. */
export function toPlainJson(v: ParamValue): unknown {
  return JSON.parse(JSON.stringify(v)) as unknown;
}
