/**
 * The sink interface every sink implements (local file, Cloud Storage, contents API) and the
 * result they share. Sinks never throw into the run: every outcome, failures included, is a
 * {@link SinkResult} that goes into the run record. `write-output.ts` picks and opens a sink.
 *
 * Spec: docs/function.md (a sink that fails is an error in the record, never a lost run).
 * @module
 */
import { isNbtError } from '../errors.js';
import { clipRedacted } from '../redact.js';
import type { Location } from './location.js';

/** What one write produced; `error` only when `ok` is false. */
export interface SinkResult {
  /** The expanded location (`gs://b/o`, `server:/p`, or the local path as resolved). */
  location: string;
  ok: boolean;
  /** `kind` says what was written: the executed notebook or its HTML rendering. */
  kind?: 'notebook' | 'html';
  bytes?: number;
  error?: { code: string; message: string };
}

/** Stable codes in {@link SinkResult.error}: the location was invalid, or the write failed. */
export type SinkErrorCode = 'USAGE' | 'SINK_FAILED';

/**
 * A body given in pieces, text or UTF-8 bytes (a streamed executed notebook): each call starts the
 * text afresh, so a sink that must send it again (a retried upload) can.
 */
export type PieceSource = () => Iterable<string | Uint8Array>;

/** What a sink writes: text, bytes, or text in pieces (never held whole). */
export type SinkBody = string | Uint8Array | PieceSource;

/** Writes one object. Implementations resolve to a result and never reject. */
export interface Sink {
  readonly location: Location;
  write(body: SinkBody, contentType: string, signal?: AbortSignal): Promise<SinkResult>;
}

/** What the contents-API sink needs from a Jupyter REST client ({@link JupyterRest} satisfies it). */
export interface ContentsWriter {
  /** Auth headers (their token is redacted from error messages). */
  readonly headers: Record<string, string>;
  /** Creates a directory (`PUT {"type":"directory"}`), idempotent. */
  makeDirectory(path: string, signal?: AbortSignal): Promise<void>;
  writeText(path: string, text: string | PieceSource, signal?: AbortSignal): Promise<void>;
}

/** How sinks reach their back ends. */
export interface SinkDeps {
  /** Base directory for relative local paths (default: the process cwd). */
  baseDir?: string;
  /**
   * A folder local writes must stay in (a message's output: the runs folder). A path outside it,
   * or a folder that a symbolic link leads out of it, is a failed write.
   */
  confineTo?: string;
  /** Needed for `server:` locations: the server the notebook ran on. */
  contents?: ContentsWriter;
  /** Cloud Storage client options: `apiEndpoint` (a local JSON-API server in tests), `projectId`, timeouts. */
  gcs?: { apiEndpoint?: string; projectId?: string; timeoutMs?: number; resumableThresholdBytes?: number };
  /** Strings that must never appear in an error message (tokens). */
  secrets?: string[];
  /** Longest one write may take before it is reported failed (default 60 s). */
  timeoutMs?: number;
}

/** Content types of what nbtrigger writes. */
export const CONTENT_TYPES = {
  notebook: 'application/x-ipynb+json',
  html: 'text/html; charset=utf-8',
  json: 'application/json',
} as const;

/** Turns anything thrown into a failed result (message clipped, secrets redacted). */
export function failed(location: string, e: unknown, secrets: string[] = []): SinkResult {
  const code: SinkErrorCode = isNbtError(e) && e.code === 'USAGE' ? 'USAGE' : 'SINK_FAILED';
  const m = (e as { message?: unknown } | null)?.message;
  const raw = typeof m === 'string' ? m : String(e);
  const message = clipRedacted(raw.replace(/\s+/g, ' ').trim(), 500, secrets);
  return { location, ok: false, error: { code, message: message || 'write failed' } };
}
