/**
 * Writing an output: `openSink(location)` picks the local-file, Cloud Storage or contents-API sink
 * for a location (each imported on first use, so the Cloud Storage client loads only when a `gs://`
 * location is written), and `writeOutput` expands a template and writes through it.
 *
 * Spec: docs/function.md (a sink that fails is an error in the record, never a lost run).
 * @module
 */
import {
  expandPlaceholders,
  formatLocation,
  parseLocation,
  siblingLocation,
  type Location,
  type PlaceholderValues,
} from './location.js';
import { CONTENT_TYPES, failed, type Sink, type SinkBody, type SinkDeps, type SinkResult } from './sink.js';

/** Opens the sink for a parsed location. Throws only for a `server:` location without a contents client. */
async function openSink(location: Location | string, deps: SinkDeps = {}): Promise<Sink> {
  const l = typeof location === 'string' ? parseLocation(location) : location;
  switch (l.kind) {
    case 'file':
      return new (await import('./file.js')).FileSink(l, deps);
    case 'gcs':
      return new (await import('./gcs.js')).GcsSink(l, deps);
    case 'server':
      return new (await import('./contents-api.js')).ContentsApiSink(l, deps);
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
export function summarizeResults(results: SinkResult[]): {
  outputs: { notebook?: string; html?: string };
  failures: string[];
} {
  const outputs: { notebook?: string; html?: string } = {};
  const failures: string[] = [];
  for (const r of results) {
    const kind = r.kind ?? 'notebook';
    if (r.ok) outputs[kind] = r.location;
    else
      failures.push(
        `${kind} not written to ${r.location}: ` +
          `${r.error?.message ?? 'write failed'} (${r.error?.code ?? 'SINK_FAILED'})`,
      );
  }
  return { outputs, failures };
}
