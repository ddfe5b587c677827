/**
 * After a run: the executed notebook (and its HTML) through the sinks, the run record into the
 * run store, notifications. Shared by the CLI and the function, so both leave the same traces.
 * Nothing here can lose a run: a failed sink, store or notification becomes a warning in the
 * record (and the record is still returned for the caller to log).
 *
 * Spec: docs/function.md.
 * @module
 */
import { JupyterRest } from '../jupyter/rest.js';
import { redact, redactJson } from '../log.js';
import { noteGarbage } from '../patches/gc-hint.js';
import { jsonPieces, type Piece } from '../notebook/json-pieces.js';
import { redactBytes } from '../redact-bytes.js';
import { buildExecutedNotebook } from '../notebook/executed.js';
import type { NotifyConfig } from '../notify/notify-run.js';
import { toPlainJson, type ParamValue } from '../notebook/translators/values.js';
import type { RunRequest } from '../request/grammar.js';
import type { Connector, Resolver } from '../security/connector.js';
import { outputTemplate } from '../sinks/location.js';
import type { SinkDeps, SinkResult } from '../sinks/sink.js';
import { htmlLocationFor, summarizeResults, writeOutput } from '../sinks/write-output.js';
import type { RunStore, StoredRun } from '../store/runs-store.js';
import type { RunOutcome } from './runner.js';

export interface FinishOptions {
  outcome: RunOutcome;
  request: RunRequest;
  runId: string;
  /** Jupyter token ('' for none): for `server:` sinks and nbconvert; never written anywhere. */
  token: string;
  messageId?: string;
  schedule?: string;
  /** Output template for the executed notebook; undefined: none written. */
  output?: string;
  /** Also write an HTML rendering beside the notebook. */
  html?: boolean;
  sinkDeps?: Omit<SinkDeps, 'contents' | 'secrets'>;
  store?: RunStore;
  notify?: NotifyConfig;
  /** Opens every connection to the server (`server:` sinks, nbconvert): the function's SSRF guard. */
  connector?: Connector;
  /** DNS resolver behind the webhook's guard (default: the system's). */
  resolve?: Resolver;
  /** Where the record went (a file path or a document path), reported back. */
  onStored?: (location: string) => void;
}

/** Writes what the run produced; never rejects. Returns the stored record (with outputs and warnings). */
export async function finishRun(given: FinishOptions): Promise<StoredRun> {
  const { outcome, request } = given;
  let o = given;
  // Defence in depth: whatever a notebook printed, the token never reaches a record or an output.
  const secrets = o.token ? [o.token] : [];
  const record: StoredRun = redactJson(
    { ...outcome.record, runId: o.runId, warnings: [...outcome.record.warnings] },
    secrets,
  );
  if (o.messageId !== undefined) record.messageId = o.messageId;
  if (o.schedule !== undefined) record.schedule = o.schedule;
  if (request.parameters) record.parameters = toPlainJson(request.parameters as ParamValue) as Record<string, unknown>;
  // A notebook read from elsewhere (or a kernel-only server): the server's files are never touched,
  // so HTML comes from the built-in renderer and there is no "next to the notebook on the server".
  const filesless = request.source !== undefined || request.kernelOnly === true;
  if (filesless && o.output?.trim().startsWith('server:')) {
    const message = `server: output refused: the notebook ${
      request.source ? `came from ${request.notebook}, not the server` : 'runs on a kernel-only server'
    }, so nothing is written to the server's files (use a path or gs://)`;
    record.warnings.push(`outputs not written: ${message}`);
    record.outputErrors = [{ kind: 'notebook', location: o.output, code: 'USAGE', message }];
    o = { ...o, output: undefined };
  }
  const needsServer = !filesless && (o.html === true || o.output?.startsWith('server:') === true);
  const rest = needsServer
    ? new JupyterRest({ server: request.server, token: o.token, connector: o.connector, cookies: outcome.cookies })
    : undefined;
  try {
    if (o.output !== undefined && outcome.notebook) {
      const results = await writeNotebook(o, record, rest);
      const { outputs, failures } = summarizeResults(results);
      if (Object.keys(outputs).length > 0) record.outputs = outputs;
      record.warnings.push(...failures);
      const errors = results
        .filter((r) => !r.ok)
        .map((r) => ({
          kind: r.kind ?? 'notebook',
          location: r.location,
          code: r.error?.code ?? 'SINK_FAILED',
          message: r.error?.message ?? 'write failed',
        }));
      if (errors.length > 0) record.outputErrors = errors;
    }
  } catch (e) {
    record.warnings.push(`outputs not written: ${(e as Error).message}`);
  } finally {
    await rest?.close();
  }
  if (o.store) {
    try {
      const ref = await o.store.save(record);
      o.onStored?.(ref.location);
    } catch (e) {
      record.warnings.push(`run record not stored: ${(e as Error).message}`);
    }
  }
  if (o.notify) {
    const { notifyRun, notifyWarnings } = await import('../notify/notify-run.js');
    record.warnings.push(...notifyWarnings(await notifyRun(record, o.notify, { resolve: o.resolve })));
  }
  return record;
}

async function writeNotebook(
  o: FinishOptions,
  record: StoredRun,
  rest: JupyterRest | undefined,
): Promise<SinkResult[]> {
  const { outcome } = o;
  const started = Date.parse(record.startedAt);
  const executed = buildExecutedNotebook(
    outcome.notebook!,
    outcome.exec?.cells ?? [],
    outcome.exec?.outputs ?? { outputs: () => [] },
    {
      runId: o.runId,
      notebook: record.notebook ?? o.request.notebook,
      output: o.output,
      parameters: o.request.parameters,
      server: record.server,
      kernelName: record.kernelName,
      languageInfo: outcome.exec?.languageInfo,
      widgets: outcome.exec?.widgets?.metadata(),
      status: record.status,
      startedAt: started,
      endedAt: started + record.durationMs,
      error: record.error,
      warnings: record.warnings,
      messageId: o.messageId,
    },
  );
  const deps: SinkDeps = { ...o.sinkDeps, secrets: o.token ? [o.token] : [], ...(rest ? { contents: rest } : {}) };
  const values = {
    notebook: record.notebook ?? o.request.notebook,
    runId: o.runId,
    date: record.startedAt,
    status: record.status,
  };
  // Streamed: the notebook (up to the output cap per cell) is never one string in memory.
  const body = (): Iterable<Uint8Array> => redactBytes(notebookText(executed), deps.secrets ?? []);
  const results = [await writeOutput({ template: outputTemplate(o.output!), values, body, kind: 'notebook' }, deps)];
  if (o.html && results[0]!.ok) {
    const { renderNotebookHtml } = await import('../report/notebook-html.js');
    const page = await renderNotebookHtml(executed, { server: rest, name: record.notebook ?? undefined });
    if (page.warning) record.warnings.push(page.warning);
    results.push(
      await writeOutput(
        {
          template: htmlLocationFor(results[0]!.location),
          values,
          body: redact(page.html, deps.secrets ?? []),
          kind: 'html',
        },
        deps,
      ),
    );
  }
  return results;
}

/** The executed notebook's file text, as `JSON.stringify(nb, null, 1)` plus a newline, in pieces. */
function* notebookText(nb: unknown): Generator<Piece, void, undefined> {
  for (const piece of jsonPieces(nb, 1)) {
    yield piece;
    // Text pieces leave their escaped copy and their bytes behind; kept output (bytes) leaves nothing.
    if (typeof piece === 'string') noteGarbage(piece.length);
  }
  yield '\n';
}
