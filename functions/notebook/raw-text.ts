/**
 * Output text kept as it arrived: the bytes between the quotes of a JSON string literal in a kernel
 * frame (UTF-8, JSON escapes as the server wrote them). A large stream message is never decoded
 * into a JavaScript string on its way from the WebSocket to a sink: the notebook serializer writes
 * these bytes back between quotes unchanged (they are already valid JSON string content), so the
 * output a cell keeps costs its size once and makes no garbage. Whoever needs the text as a string
 * (`toString`, `toJSON`) gets it decoded. Pure.
 *
 * Spec: RFC 8259 §7 (strings), docs/function.md (Memory).
 * @module
 */

const BACKSLASH = 0x5c;
const U = 0x75;

/** JSON string content in bytes, with its length in UTF-16 units once decoded. */
export class RawJsonText {
  /**
   * @param bytes the escaped content (no quotes); must be valid JSON string content.
   * @param length its decoded length in UTF-16 units ({@link decodedLength}).
   */
  constructor(
    readonly bytes: Uint8Array,
    readonly length: number,
  ) {}

  /**
   * Wraps `bytes` (UTF-8, which the caller checks) and measures it; undefined when they are not
   * valid JSON string content (a bad escape, a raw control character or quote).
   */
  static of(bytes: Uint8Array): RawJsonText | undefined {
    const length = decodedLength(bytes);
    return length < 0 ? undefined : new RawJsonText(compact(bytes), length);
  }

  /** The decoded text (a new string each call). */
  toString(): string {
    return JSON.parse(`"${decoder.decode(this.bytes)}"`) as string;
  }

  toJSON(): string {
    return this.toString();
  }

  /**
   * The first `n` UTF-16 units, never cutting an escape, a UTF-8 character or a surrogate pair.
   * The bytes are copied when they are a small part of a larger buffer, so a clipped piece never
   * keeps a huge frame alive.
   */
  clip(n: number): RawJsonText {
    if (n >= this.length) return this;
    const b = this.bytes;
    let units = 0;
    let i = 0;
    while (i < b.length) {
      const { size, count, highSurrogate } = step(b, i);
      // A character of two units (or a high-surrogate escape, whose pair follows) that would end
      // at or past the limit is left out whole.
      if (units + count > n || (highSurrogate && units + count >= n)) break;
      units += count;
      i += size;
    }
    return new RawJsonText(compact(b.subarray(0, i)), units);
  }
}

/** A view that is a small part of its buffer is copied out, so the rest can be freed. */
export function compact(view: Uint8Array): Uint8Array {
  return view.buffer.byteLength > 2 * view.byteLength + 4096 ? Uint8Array.prototype.slice.call(view) : view;
}

const decoder = new TextDecoder('utf-8');

/**
 * The decoded length, in UTF-16 units, of JSON string content given as UTF-8 bytes; -1 when it is
 * not valid content (an escape other than RFC 8259's, a raw control character or quote).
 */
export function decodedLength(b: Uint8Array): number {
  let units = 0;
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c >= 0x20 && c < 0x80 && c !== BACKSLASH && c !== QUOTE) {
      units++;
      i++;
      continue;
    }
    if (c < 0x20 || c === QUOTE) return -1;
    if (c === BACKSLASH && !validEscape(b, i)) return -1;
    const s = step(b, i);
    units += s.count;
    i += s.size;
  }
  return units;
}

function validEscape(b: Uint8Array, i: number): boolean {
  const e = b[i + 1];
  if (e === U) {
    for (let k = i + 2; k < i + 6; k++) if (k >= b.length || !isHex(b[k]!)) return false;
    return true;
  }
  return e !== undefined && ESCAPES.has(e);
}

/** The characters RFC 8259 allows after a backslash, `u` aside: `" \ / b f n r t`. */
const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const QUOTE = 0x22;

function isHex(d: number): boolean {
  return (d >= 0x30 && d <= 0x39) || ((d | 0x20) >= 0x61 && (d | 0x20) <= 0x66);
}

/** The escape or character at `i`: its size in bytes and its length in UTF-16 units. */
function step(b: Uint8Array, i: number): { size: number; count: number; highSurrogate: boolean } {
  const c = b[i]!;
  if (c === BACKSLASH) {
    if (b[i + 1] === U) {
      // \uD800–\uDBFF: a high surrogate (its low half follows as another escape).
      const high = (b[i + 2]! | 0x20) === 0x64 && isHighDigit(b[i + 3]!);
      return { size: 6, count: 1, highSurrogate: high };
    }
    return { size: 2, count: 1, highSurrogate: false };
  }
  if (c < 0x80) return { size: 1, count: 1, highSurrogate: false };
  if (c >= 0xf0) return { size: 4, count: 2, highSurrogate: false };
  if (c >= 0xe0) return { size: 3, count: 1, highSurrogate: false };
  return { size: 2, count: 1, highSurrogate: false };
}

/** `8`–`b` (either case): the second hex digit of a high surrogate `D8xx`–`DBxx`. */
function isHighDigit(d: number): boolean {
  return d === 0x38 || d === 0x39 || (d | 0x20) === 0x61 || (d | 0x20) === 0x62;
}
