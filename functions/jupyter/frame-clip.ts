/**
 * Bounded parsing of huge kernel frames. A cell that prints 50 MB arrives as one 50 MB WebSocket
 * frame; decoding it to a string and parsing it would hold two more copies of the output that
 * the output cap throws away anyway. `clipLongStrings` rewrites the frame's JSON with every string
 * literal longer than `maxBytes` cut to its first `maxBytes` bytes (never inside an escape
 * sequence or a UTF-8 character), so only the kept part is ever decoded. Pure.
 *
 * Spec: issue "Parameters, executed notebooks, …" (Memory: large outputs never grow memory
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

/**
 * Cuts every JSON string literal longer than `maxBytes` raw bytes. The input must be JSON text
 * (UTF-8); the output stays valid JSON when the input was. Runs in one pass over the bytes.
 */
export function clipLongStrings(buf: Uint8Array, maxBytes: number): Clipped {
  const parts: Uint8Array[] = [];
  let from = 0;
  let clipped = 0;
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
      parts.push(buf.subarray(from, cut));
      from = j; // resume at the closing quote
      clipped++;
    }
    i = j + 1;
  }
  if (clipped === 0) return { text: Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('utf8'), clipped: 0 };
  parts.push(buf.subarray(from));
  return { text: Buffer.concat(parts).toString('utf8'), clipped };
}
