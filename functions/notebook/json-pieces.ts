/**
 * Streaming JSON serializer: yields the exact text of `JSON.stringify(value, null, indent)` in
 * pieces of about {@link PIECE_CHARS} characters, so an executed notebook holding megabytes of
 * output is written without ever being one string. Long strings are escaped slice by slice (never
 * between the halves of a surrogate pair), and stream outputs kept as pieces
 * ({@link ./stream-text.ts}) are written piece by piece without being joined. Pure.
 *
 * Follows ECMA-262 §25.5.2.2 (SerializeJSONProperty) for plain JSON data: `toJSON` is honoured,
 * `undefined`, functions and symbols are skipped in objects and become `null` in arrays, non-finite
 * numbers become `null`; cycles throw. Spec: docs/function.md (Memory).
 * @module
 */
import type { RawJsonText } from './raw-text.js';
import { textParts, type TextPart } from './stream-text.js';

/** A piece of serialized JSON: text, or UTF-8 bytes (kept output text, written as it arrived). */
export type Piece = string | Uint8Array;

/** Target size of one yielded piece (characters). */
export const PIECE_CHARS = 1 << 18;

/** Strings longer than this are escaped in slices of this many characters. */
const SLICE = 1 << 18;

/** Yields `JSON.stringify(value, null, indent)` (a number of spaces, 0 for none) in pieces. */
export function* jsonPieces(value: unknown, indent = 0): Generator<Piece, void, undefined> {
  const gap = ' '.repeat(Math.max(0, Math.min(10, Math.floor(indent))));
  let buf = '';
  const stack = new Set<object>();

  // Small writes accumulate in `buf`; a piece is yielded once it is large enough.
  function* emit(s: Piece): Generator<Piece, void, undefined> {
    if (typeof s !== 'string') {
      if (buf) yield buf;
      buf = '';
      yield s;
      return;
    }
    buf += s;
    if (buf.length >= PIECE_CHARS) {
      yield buf;
      buf = '';
    }
  }

  function* str(s: string): Generator<Piece, void, undefined> {
    if (s.length <= SLICE) yield* emit(JSON.stringify(s));
    else yield* partsString([s]);
  }

  function* partsString(parts: readonly TextPart[]): Generator<Piece, void, undefined> {
    for (const piece of jsonStringPieces(parts)) yield* emit(piece);
  }

  function* val(v: unknown, key: string, indentNow: string): Generator<Piece, void, undefined> {
    if (typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      v = (v as { toJSON: (k: string) => unknown }).toJSON(key);
    }
    if (v instanceof Number) v = Number(v);
    else if (v instanceof String) v = String(v);
    else if (v instanceof Boolean) v = v.valueOf();
    if (v === null) return yield* emit('null');
    switch (typeof v) {
      case 'boolean':
        return yield* emit(v ? 'true' : 'false');
      case 'string':
        return yield* str(v);
      case 'number':
        return yield* emit(Number.isFinite(v) ? String(v) : 'null');
      case 'bigint':
        throw new TypeError('Do not know how to serialize a BigInt');
      case 'object':
        break;
      default:
        return;
    }
    const o = v as object;
    if (stack.has(o)) throw new TypeError('Converting circular structure to JSON');
    stack.add(o);
    const inner = indentNow + gap;
    const open = gap ? `\n${inner}` : '';
    const sep = gap ? `,\n${inner}` : ',';
    const close = gap ? `\n${indentNow}` : '';
    if (Array.isArray(o)) {
      if (o.length === 0) yield* emit('[]');
      else {
        yield* emit(`[${open}`);
        for (let i = 0; i < o.length; i++) {
          if (i > 0) yield* emit(sep);
          const x = o[i] as unknown;
          if (x === undefined || typeof x === 'function' || typeof x === 'symbol') yield* emit('null');
          else yield* val(x, String(i), inner);
        }
        yield* emit(`${close}]`);
      }
    } else {
      const parts = textParts(o);
      let first = true;
      for (const k of Object.keys(o)) {
        const x = parts !== undefined && k === 'text' ? parts : (o as Record<string, unknown>)[k];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        yield* emit(first ? `{${open}` : sep);
        first = false;
        yield* emit(`${JSON.stringify(k)}:${gap ? ' ' : ''}`);
        if (x === parts) yield* partsString(parts);
        else yield* val(x, k, inner);
      }
      yield* emit(first ? '{}' : `${close}}`);
    }
    stack.delete(o);
  }

  yield* val(value, '', '');
  if (buf) yield buf;
}

/** `s` in slices of at most `size` UTF-16 units, never between the halves of a surrogate pair. */
export function* stringSlices(s: string, size: number): Generator<string, void, undefined> {
  for (let i = 0; i < s.length; ) {
    let end = Math.min(s.length, i + size);
    const last = s.charCodeAt(end - 1);
    if (end < s.length && last >= 0xd800 && last <= 0xdbff) end--;
    yield s.slice(i, end);
    i = end;
  }
}

/** A piece as UTF-8 bytes (bytes as they are, text encoded). */
export function pieceBytes(p: Piece): Uint8Array {
  return typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
}

/** The escaped characters of `s` (no quotes), a slice at a time, never cutting a surrogate pair. */
function* escapedSlices(s: string): Generator<string, void, undefined> {
  for (const slice of stringSlices(s, SLICE)) yield JSON.stringify(slice).slice(1, -1);
}

/**
 * One JSON string literal (quotes included) whose value is the concatenation of `parts`, in pieces:
 * `JSON.stringify(parts.join(''))` without the join. A surrogate pair split between two string
 * parts is escaped as the pair it is; a part kept as bytes (raw-text.ts) is already escaped and is
 * yielded as it is.
 */
export function* jsonStringPieces(parts: Iterable<TextPart>): Generator<Piece, void, undefined> {
  yield '"';
  let carry = '';
  for (const p of parts) {
    if (typeof p !== 'string') {
      if (carry) yield* escapedSlices(carry);
      carry = '';
      yield (p as RawJsonText).bytes;
      continue;
    }
    let s = carry ? carry + p : p;
    carry = '';
    const last = s.charCodeAt(s.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      carry = s.slice(-1);
      s = s.slice(0, -1);
    }
    yield* escapedSlices(s);
  }
  if (carry) yield* escapedSlices(carry);
  yield '"';
}
