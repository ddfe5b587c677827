/**
 * The notebook source interface the runner reads through (RunOptions.notebookSource), and the
 * bounded collection every reader shares: the bytes are counted as they stream and the read is
 * abandoned past the cap, so no reader ever holds more than the cap plus one chunk.
 *
 * Spec: docs/function.md (notebook sources).
 * @module
 */
import { createHash } from 'node:crypto';
import { NbtError } from '../errors.js';

/** What a source read gives the run: the text, where it came from, and which version it was. */
export interface SourceRead {
  text: string;
  /** The source as recorded (never a URL's query). */
  url: string;
  /** GCS `generation`, the HTTP `ETag`, or `sha256:<hex>` of the bytes. */
  version: string;
}

/** One notebook, read once per run. */
export interface NotebookSource {
  /** The source as recorded. */
  readonly url: string;
  /** Reads the notebook, at most `maxBytes`, until `signal` aborts (the run's start deadline). */
  read(signal: AbortSignal, maxBytes: number): Promise<SourceRead>;
}

/** The BAD_NOTEBOOK error for a notebook past its cap. */
export function tooBig(url: string, maxBytes: number): NbtError {
  return new NbtError(
    'BAD_NOTEBOOK',
    `notebook "${url}" is larger than the cap of ${maxBytes} bytes (NBTRIGGER_MAX_NOTEBOOK_BYTES)`,
    { details: { field: 'notebook', maxBytes } },
  );
}

/** Collects chunks up to `maxBytes`; throws {@link tooBig} past it. Returns the bytes and their sha256. */
export async function collectBounded(
  chunks: AsyncIterable<Uint8Array | string>,
  maxBytes: number,
  url: string,
): Promise<{ bytes: Buffer; sha256: string }> {
  const parts: Buffer[] = [];
  const hash = createHash('sha256');
  let n = 0;
  for await (const c of chunks) {
    const b = typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    n += b.length;
    if (n > maxBytes) throw tooBig(url, maxBytes);
    hash.update(b);
    parts.push(b);
  }
  return { bytes: Buffer.concat(parts, n), sha256: `sha256:${hash.digest('hex')}` };
}

/** Decodes UTF-8 strictly: a notebook that is not text is a BAD_NOTEBOOK, not mojibake. */
export function utf8Text(bytes: Buffer, url: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new NbtError('BAD_NOTEBOOK', `notebook "${url}" is not UTF-8 text`, { details: { field: 'notebook' } });
  }
}

/** The abort reason of `signal` as an NbtError (the start phase aborts with TIMEOUT). */
export function abortError(signal: AbortSignal, what: string): NbtError {
  const r: unknown = signal.reason;
  if (r instanceof NbtError) return r;
  return new NbtError('TIMEOUT', `reading ${what} did not finish before the run deadline`);
}
