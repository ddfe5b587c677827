/**
 * Bounded parsing of huge kernel frames. A cell that prints 50 MB arrives as one 50 MB WebSocket
 * frame; decoding it to a string and parsing it would hold two more copies of the output that
 * the output cap throws away anyway. `clipLongStrings` rewrites the frame's JSON with every string
 * literal longer than `maxBytes` cut to its first `maxBytes` bytes (never inside an escape
 * sequence or a UTF-8 character), so only the kept part is ever decoded. Pure.
 *
 * Spec: docs/function.md (Memory: large outputs never grow memory
 * without bound); RFC 8259 §7 (string escapes).
 * @module
 */

export interface Clipped {
  /** The JSON text with long strings cut. */
  text: string;
  /** How many string literals were cut. */
  clipped: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const U = 0x75;

/** A string literal longer than the limit: its content is `[start, end)`; `cut` is a safe place to cut it. */
interface LongString {
  start: number;
  end: number;
  cut: number;
}

/** Every string literal of the JSON text `buf` longer than `maxBytes` raw bytes, in one pass. */
function findLongStrings(buf: Uint8Array, maxBytes: number): LongString[] {
  const found: LongString[] = [];
  let i = 0;
  const n = buf.length;
  while (i < n) {
    if (buf[i] !== QUOTE) {
      i++;
      continue;
    }
    const start = i + 1;
    const limit = start + maxBytes;
    let j = start;
    /** The last position ≤ limit where a character or an escape starts: a safe place to cut. */
    let boundary = start;
    while (j < n && buf[j] !== QUOTE) {
      if (j <= limit) boundary = j;
      j += buf[j] === BACKSLASH ? (buf[j + 1] === U ? 6 : 2) : 1;
    }
    // j is the closing quote (or past the end for malformed input, left to the JSON parser to report).
    if (j - start > maxBytes && j < n) {
      let cut = boundary;
      while (cut > start && (buf[cut]! & 0xc0) === 0x80) cut--; // not inside a UTF-8 character
      found.push({ start, end: j, cut });
    }
    i = j + 1;
  }
  return found;
}

function utf8(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/**
 * Cuts every JSON string literal longer than `maxBytes` raw bytes. The input must be JSON text
 * (UTF-8); the output stays valid JSON when the input was. Runs in one pass over the bytes.
 */
export function clipLongStrings(buf: Uint8Array, maxBytes: number): Clipped {
  const long = findLongStrings(buf, maxBytes);
  if (long.length === 0) return { text: utf8(buf), clipped: 0 };
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const l of long) {
    parts.push(buf.subarray(from, l.cut));
    from = l.end; // resume at the closing quote
  }
  parts.push(buf.subarray(from));
  return { text: Buffer.concat(parts).toString('utf8'), clipped: long.length };
}

/**
 * The stand-in {@link extractLongStrings} writes for its `k`-th long string (cannot occur in kernel
 * text by chance).
 */
export function placeholder(k: number): string {
  return `\u0000nbtrigger-raw-${k}\u0000`;
}

/** A frame with its long strings taken out. */
export interface Extracted {
  /** The JSON text, each long string replaced by {@link placeholder}(k). */
  text: string;
  /** Content byte ranges (inside the quotes) of the long strings, in order. */
  ranges: { start: number; end: number }[];
}

/**
 * Takes every string literal longer than `minBytes` out of the JSON text `buf`, leaving a short
 * placeholder: the rest of the frame parses without decoding them, and each can then be kept as
 * bytes (see raw-text.ts).
 */
export function extractLongStrings(buf: Uint8Array, minBytes: number): Extracted {
  const long = findLongStrings(buf, minBytes);
  if (long.length === 0) return { text: utf8(buf), ranges: [] };
  const parts: Uint8Array[] = [];
  let from = 0;
  long.forEach((l, k) => {
    parts.push(buf.subarray(from, l.start), Buffer.from(JSON.stringify(placeholder(k)).slice(1, -1)));
    from = l.end;
  });
  parts.push(buf.subarray(from));
  return { text: Buffer.concat(parts).toString('utf8'), ranges: long.map(({ start, end }) => ({ start, end })) };
}
