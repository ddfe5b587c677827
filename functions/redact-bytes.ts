/**
 * `redact` (log.ts) for a text streamed in pieces (an executed notebook on its way to a sink): the
 * same forms of each secret are replaced, however the text is cut, and the result is UTF-8 bytes.
 * Pieces given as bytes (output kept as it arrived) pass through without a copy unless a secret is
 * in them; the last `longest form − 1` bytes of each piece wait for the next one, so a secret split
 * across two pieces is still found. Pure.
 *
 * Spec: docs/security.md (redaction).
 * @module
 */
import { REDACTED, redactionForms } from './redact.js';
import { pieceBytes } from './notebook/json-pieces.js';

const encoder = new TextEncoder();
const MARK = encoder.encode(REDACTED);

/** A copy (`Buffer#slice` would be a view, keeping a whole frame alive). */
function copy(b: Uint8Array, from: number): Uint8Array {
  return Uint8Array.prototype.slice.call(b, from);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle, from);
}

/**
 * One form replaced in a stream of bytes, as `split(form).join(REDACTED)` would on the joined text:
 * leftmost occurrences, not overlapping. The last `form.length − 1` bytes wait for the next piece
 * (an occurrence may continue there); a piece with no occurrence goes out as a view, not a copy.
 */
function* replaceStream(pieces: Iterable<Uint8Array>, form: Uint8Array): Generator<Uint8Array, void, undefined> {
  const keep = form.length - 1;
  let carry: Uint8Array = new Uint8Array(0);
  for (const b of pieces) {
    if (b.length === 0) continue;
    const head = concat(carry, b.subarray(0, keep));
    if (indexOf(b, form) < 0 && indexOf(head, form) < 0) {
      if (b.length > keep) {
        if (carry.length > 0) yield carry;
        yield b.subarray(0, b.length - keep);
        carry = copy(b, b.length - keep);
      } else {
        carry = head; // short piece: all of it may still begin an occurrence
      }
      continue;
    }
    // An occurrence here (rare: a secret in the output): work on the joined window.
    const w = concat(carry, b);
    let from = 0;
    for (let at = indexOf(w, form); at >= 0 && at + form.length <= w.length; at = indexOf(w, form, from)) {
      if (at > from) yield w.subarray(from, at);
      yield MARK;
      from = at + form.length;
    }
    const rest = Math.max(from, w.length - keep);
    if (rest > from) yield w.subarray(from, rest);
    carry = copy(w, rest);
  }
  if (carry.length > 0) yield carry;
}

/** The pieces as UTF-8 bytes with every form of every secret replaced by `[REDACTED]`, in `redact`'s order. */
export function* redactBytes(
  pieces: Iterable<string | Uint8Array>,
  secrets: readonly string[],
): Generator<Uint8Array, void, undefined> {
  let out: Iterable<Uint8Array> = (function* asBytes() {
    for (const p of pieces) yield pieceBytes(p);
  })();
  for (const f of redactionForms(secrets)) out = replaceStream(out, encoder.encode(f));
  yield* out;
}
