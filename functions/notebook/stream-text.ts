/**
 * Stream outputs whose text is kept as the pieces it arrived in. A cell that prints 16 MiB arrives
 * as many messages; concatenating them makes a V8 rope that the first `slice`, regex or
 * `JSON.stringify` flattens into one more 16 MiB copy. Here the pieces stay a list: `text` joins
 * them only when somebody reads it, and the notebook serializer ({@link ./json-pieces.ts}) writes
 * them one by one, so the kept output is never copied on the way to a sink. Pure.
 *
 * Spec: docs/function.md (Memory: a cell printing 50 MB stays below 2× the
 * output cap); https://nbformat.readthedocs.io/en/latest/format_description.html#stream-output .
 * @module
 */
import type { IOutput, IStream } from '@jupyterlab/nbformat';
import type { RawJsonText } from './raw-text.js';

/** A piece of stream text: a string, or bytes as they arrived (decoded only when read). */
export type TextPart = string | RawJsonText;

/** Where a stream output built here keeps its pieces (not enumerable: spreads and JSON skip it). */
const TEXT_PARTS: unique symbol = Symbol('nbtrigger.textParts');

type PartsHolder = { [TEXT_PARTS]?: TextPart[] };

/**
 * A stream output `{output_type: 'stream', name, text}` whose `text` is the join of `parts`.
 * Reading `text` joins (a copy each time: meant for tests and small outputs); assigning it replaces
 * the pieces. `parts` is owned by the output from here on.
 */
export function streamOutput(name: 'stdout' | 'stderr', parts: TextPart[]): IStream {
  const out = { output_type: 'stream', name } as IStream & PartsHolder;
  Object.defineProperty(out, TEXT_PARTS, { value: parts, enumerable: false, writable: true });
  Object.defineProperty(out, 'text', {
    enumerable: true,
    configurable: true,
    get(this: PartsHolder): string {
      return this[TEXT_PARTS]!.map(String).join('');
    },
    set(this: PartsHolder, v: unknown) {
      this[TEXT_PARTS] = [Array.isArray(v) ? v.join('') : String(v)];
    },
  });
  return out;
}

/** The pieces of a stream output built by {@link streamOutput}; undefined for any other value. */
export function textParts(o: unknown): readonly TextPart[] | undefined {
  return typeof o === 'object' && o !== null ? (o as PartsHolder)[TEXT_PARTS] : undefined;
}

/** Appends text to a stream output built by {@link streamOutput}. */
export function appendText(o: IStream, text: TextPart): void {
  const parts = (o as PartsHolder)[TEXT_PARTS];
  if (parts) parts.push(text);
  else o.text = (typeof o.text === 'string' ? o.text : o.text.join('')) + String(text);
}

/**
 * A shallow copy of an output that shares its text: a stream output built by {@link streamOutput}
 * stays one (same pieces, not joined); any other output is spread.
 */
export function copyOutput(o: IOutput): IOutput {
  const parts = textParts(o);
  if (parts === undefined) return { ...o };
  const copy = streamOutput((o as IStream).name as 'stdout' | 'stderr', [...parts]);
  // Keys, not entries: reading `text` would join the pieces.
  for (const k of Object.keys(o)) {
    if (k !== 'text' && k !== 'output_type' && k !== 'name')
      (copy as Record<string, unknown>)[k] = (o as Record<string, unknown>)[k];
  }
  return copy;
}
