/**
 * The sink resolver: `openSink(location)` picks the local-file, Cloud Storage or contents-API sink
 * for a location, and `writeOutput` expands a template and writes through it. Sinks never throw into
 * the run: every outcome, failures included, is a {@link SinkResult} that goes into the run record.
 * The Cloud Storage client is imported only when a `gs://` location is written.
 *
 * Spec: docs/function.md (a sink that fails is an error in the record, never a lost run).
 * @module
 */
import { isNbtError } from '../errors.js';
import { clipRedacted } from '../redact.js';
import { expandPlaceholders, formatLocation, parseLocation, siblingLocation, type Location, type PlaceholderValues } from './location.js';

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

/** Opens the sink for a parsed location. Throws only for a `server:` location without a contents client. */
export async function openSink(location: Location | string, deps: SinkDeps = {}): Promise<Sink> {
  const l = typeof location === 'string' ? parseLocation(location) : location;
  switch (l.kind) {
    case 'file': return new (await import('./file.js')).FileSink(l, deps);
    case 'gcs': return new (await import('./gcs.js')).GcsSink(l, deps);
    case 'server': return new (await import('./contents-api.js')).ContentsApiSink(l, deps);
  }
}

/** One write request for {@link writeOutput}. */
export interface OutputWrite {
  /** The `--output` template (placeholders allowed). */
  template: string;
  values: PlaceholderValues;
  body: SinkBody;
  kind: 'notebook' | 'html';
}

/**
 * Expands the template, writes, and reports. Never rejects: a bad template or an unknown scheme is a
 * failed result with code USAGE, a write failure one with code SINK_FAILED.
 */
export async function writeOutput(w: OutputWrite, deps: SinkDeps = {}, signal?: AbortSignal): Promise<SinkResult> {
  let where = w.template;
  try {
    where = expandPlaceholders(w.template, w.values);
    const location = parseLocation(where);
    where = formatLocation(location);
    const sink = await openSink(location, deps);
    const contentType = w.kind === 'html' ? CONTENT_TYPES.html : CONTENT_TYPES.notebook;
    // Bounded: a write that never returns (a stuck mount, a bucket that never answers) is a failed
    // output, not a run that never ends. The abort reaches sinks that honour it. The timer is a
    // real (ref'd) one: it also keeps the process alive until the verdict, whatever else is pending.
    const ms = deps.timeoutMs ?? 60_000;
    const stop = new AbortController();
    const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        stop.abort();
        reject(new Error(`write did not finish within ${Math.round(ms / 1000)} s`));
      }, ms);
    });
    try {
      return { ...(await Promise.race([sink.write(w.body, contentType, both), timedOut])), kind: w.kind };
    } finally {
      clearTimeout(timer);
    }
  } catch (e) {
    return { ...failed(where, e, deps.secrets), kind: w.kind };
  }
}

/**
 * The HTML companion of a written notebook: same place, `.html` instead of `.ipynb`. Takes the
 * expanded location a notebook result reports, so both files always sit side by side.
 */
export function htmlLocationFor(notebookLocation: string): string {
  return formatLocation(siblingLocation(parseLocation(notebookLocation), '.html'));
}

/**
 * Folds write results into the run record's shape: `outputs` (kind → location, successful writes
 * only) and one message per failed write for the record's warnings/errors.
 */
export function summarizeResults(results: SinkResult[]): { outputs: { notebook?: string; html?: string }; failures: string[] } {
  const outputs: { notebook?: string; html?: string } = {};
  const failures: string[] = [];
  for (const r of results) {
    const kind = r.kind ?? 'notebook';
    if (r.ok) outputs[kind] = r.location;
    else failures.push(`${kind} not written to ${r.location}: ${r.error?.message ?? 'write failed'} (${r.error?.code ?? 'SINK_FAILED'})`);
  }
  return { outputs, failures };
}
