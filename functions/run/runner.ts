/**
 * The runner: drives one notebook through a Jupyter server. Wait for the server (with the
 * notebook read in parallel) → pick and check the kernelspec → start a kernel → open the
 * channel → execute → record. The kernel it started is deleted on every path: success,
 * cell error, timeout, kernel death, cancellation, a bug.
 *
 * Spec: ../shared/design/README.md §1 and §3; issue "Run a notebook …" (the runner must).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { NbtError, toNbtError } from '../errors.js';
import { KernelChannel } from '../jupyter/channel.js';
import { executeCells, type ExecuteResult, type ProgressEvent } from '../jupyter/executor.js';
import type { Message } from '../jupyter/messages.js';
import { JupyterRest } from '../jupyter/rest.js';
import { createReconnector, fetchKernelState } from '../jupyter/reconnect.js';
import { untilReady } from '../jupyter/retry.js';
import type { Logger } from '../log.js';
import type { LookupFn } from '../security/guard.js';
import { injectParameters } from '../notebook/parameters.js';
import { notebookKernelName, parseNotebook, plannedCells, type Notebook, type PlannedCell } from '../notebook/model.js';
import { httpBase } from '../request/address.js';
import type { RunRequest } from '../request/grammar.js';
import { countCells, recordError, statusFor, type RunRecord } from './record.js';

/** Defaults that a request's `timeouts` override. */
export interface RunLimits {
  startTimeoutMs: number;
  cellTimeoutMs?: number;
  runTimeoutMs?: number;
  /** Cap on the text one cell's outputs keep. */
  maxOutputChars: number;
  /** Limit on interrupt + delete at the end. */
  cleanupTimeoutMs: number;
  /** Attempts to restore a dropped kernel channel, per drop (0: a drop ends the run). */
  reconnectAttempts?: number;
}

export const DEFAULT_LIMITS: RunLimits = { startTimeoutMs: 120_000, maxOutputChars: 16 * 1024 * 1024, cleanupTimeoutMs: 10_000 };

export interface RunOptions {
  request: RunRequest;
  /** The Jupyter token ('' for none). Used for headers only; never recorded. */
  token: string;
  extraHeaders?: Record<string, string>;
  /** DNS lookup for every connection to the server (the function's SSRF guard). */
  lookup?: LookupFn;
  limits?: Partial<RunLimits>;
  /** Notebook text read elsewhere (a local file); when absent it is read through the contents API. */
  notebookText?: Promise<string>;
  signal?: AbortSignal;
  log?: Logger;
  onProgress?: (e: ProgressEvent & { cells: number }) => void;
  /** Called once the notebook is parsed, with the number of cells that will be sent. */
  onPlan?: (nb: Notebook, cells: PlannedCell[]) => void;
  now?: () => number;
}

/** What a run produced: the record, and the notebook and outputs when it got that far. */
export interface RunOutcome {
  record: RunRecord;
  error?: NbtError;
  notebook?: Notebook;
  exec?: ExecuteResult;
}

/** Runs one notebook. Never throws: every outcome is in the record. */
export async function runNotebook(opts: RunOptions): Promise<RunOutcome> {
  const now = opts.now ?? Date.now;
  const limits = resolveLimits(opts);
  const started = now();
  const deadline = limits.runTimeoutMs === undefined ? undefined : started + limits.runTimeoutMs;
  const req = opts.request;
  const rest = new JupyterRest({ server: req.server, token: opts.token, extraHeaders: opts.extraHeaders, lookup: opts.lookup });
  const inner = new AbortController();
  const onOuterAbort = (): void => inner.abort(new NbtError('CANCELLED', 'run cancelled'));
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const log = opts.log;
  const debug = req.verbose && log?.debugEnabled === true;
  let notebook: Notebook | undefined;
  let cells: PlannedCell[] | undefined;
  let kernelName: string | null = req.kernelName ?? null;
  let exec: ExecuteResult | undefined;
  let error: NbtError | undefined;
  const warnings: string[] = [];
  try {
    const startDeadline = Math.min(started + limits.startTimeoutMs, deadline ?? Infinity);
    const ready = { deadline: startDeadline, signal: inner.signal, now };
    const [specs, text] = await Promise.all([
      untilReady(() => rest.kernelspecs(inner.signal), ready),
      opts.notebookText ?? untilReady(() => rest.readText(req.notebook, inner.signal), ready),
    ]);
    notebook = parseNotebook(text, req.notebook);
    cells = plannedCells(notebook); // counted as aborted if the run ends before they are sent
    const name = req.kernelName ?? notebookKernelName(notebook) ?? specs.default;
    kernelName = name;
    const spec = specs.specs[name];
    if (!spec) {
      throw new NbtError('NO_SUCH_KERNEL', `kernel "${name}" is not on the server; it has: ${Object.keys(specs.specs).join(', ') || '(none)'}`,
        { details: { field: 'kernelName' } });
    }
    if (req.parameters && Object.keys(req.parameters).length > 0) {
      notebook = injectParameters(notebook, req.parameters, spec.language || undefined, { kernelName: name, onWarning: (w) => warnings.push(w) });
    }
    cells = plannedCells(notebook);
    opts.onPlan?.(notebook, cells);
    if (opts.signal?.aborted) throw new NbtError('CANCELLED', 'run cancelled');
    // Not cancellable mid-request: a kernel created by a request we abandoned could not be deleted.
    // The kernel runs in the notebook's folder, as in JupyterLab, so relative paths in cells work.
    const kernel = await rest.startKernel(name, undefined, notebookDir(req.notebook));
    if (debug) log!.log('DEBUG', 'kernel started', { kernelId: kernel.id, kernelName: name });
    exec = await withKernel(rest, kernel.id, limits, async () => {
      const session = randomUUID();
      // Every channel of the run uses the same session id: a reconnect gets what the server buffered.
      const channels: KernelChannel[] = [];
      const open = async (signal: AbortSignal): Promise<KernelChannel> => {
        const ch = await KernelChannel.connect({ server: req.server, kernelId: kernel.id, sessionId: session, headers: rest.headers, signal, lookup: opts.lookup });
        channels.push(ch);
        return ch;
      };
      const reconnect = limits.reconnectAttempts === 0 ? undefined : createReconnector({
        // The executor aborts `signal` when the run ends (which a cancellation of `inner` also causes).
        connect: open,
        kernelState: (signal) => fetchKernelState({ base: rest.base, headers: rest.headers, kernelId: kernel.id, lookup: opts.lookup }, signal),
        attempts: limits.reconnectAttempts, deadline, now,
        onAttempt: (attempt, err) => log?.log('WARNING', err ? 'kernel channel reconnect attempt failed' : 'kernel channel dropped: reconnecting',
          { kernelId: kernel.id, attempt, ...(err ? { error: err.message } : {}) }),
      });
      const channel = await open(inner.signal);
      try {
        return await executeCells(channel, cells!, {
          reconnect, interrupt: () => rest.interruptKernel(kernel.id, AbortSignal.timeout(Math.min(5000, limits.cleanupTimeoutMs))),
          session, sequential: req.sequential === true, cellTimeoutMs: limits.cellTimeoutMs, deadline,
          maxOutputChars: limits.maxOutputChars, signal: inner.signal, now,
          onProgress: opts.onProgress && ((e) => opts.onProgress!({ ...e, cells: cells!.length })),
          onMessage: debug ? (m) => logMessage(log!, m) : undefined,
        });
      } finally {
        for (const ch of channels) ch.close();
      }
    }, log);
    error = exec.failure;
  } catch (e) {
    error = toNbtError(e);
    if (error.code === 'INTERNAL') log?.log('ERROR', 'internal error', { error: String((e as Error)?.stack ?? e) });
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
    inner.abort();
    await rest.close();
  }
  if (exec) warnings.push(...exec.warnings);
  for (const i of exec?.outputs.truncatedCells ?? []) warnings.push(`cell ${i}: output truncated at ${limits.maxOutputChars} characters`);
  const record: RunRecord = {
    status: statusFor(error),
    notebook: req.notebook,
    server: httpBase(req.server),
    kernelName,
    startedAt: new Date(started).toISOString(),
    durationMs: now() - started,
    cells: countCells(notebook?.cells.length ?? 0, exec?.cells, cells?.length ?? 0),
    warnings,
  };
  if (error) record.error = recordError(error);
  if (exec?.outputs.lastResult) record.lastResult = exec.outputs.lastResult;
  return { record, error, notebook, exec };
}

/**
 * Runs `body` with a started kernel and deletes the kernel afterwards, whatever happens.
 * On a timeout or cancellation the kernel is interrupted first, as a person would.
 */
async function withKernel(rest: JupyterRest, kernelId: string, limits: RunLimits, body: () => Promise<ExecuteResult>, log?: Logger): Promise<ExecuteResult> {
  let result: ExecuteResult | undefined;
  try {
    result = await body();
    return result;
  } finally {
    const cleanup = AbortSignal.timeout(limits.cleanupTimeoutMs);
    const code = result?.failure?.code;
    if ((code === 'TIMEOUT' && !result?.interrupted) || code === 'CANCELLED') {
      await rest.interruptKernel(kernelId, cleanup).catch((e: unknown) => log?.log('WARNING', 'kernel interrupt failed', { kernelId, error: String(e) }));
    }
    await deleteKernel(rest, kernelId, cleanup).catch((e: unknown) => log?.log('WARNING', 'kernel delete failed', { kernelId, error: String(e) }));
  }
}

/**
 * Deletes a kernel, retrying 5xx until `signal` aborts, and a network error twice (a server that
 * is gone should not hold the run for the whole cleanup limit). Jupyter Server 1.x answers 500
 * to a DELETE that arrives while its restarter is restarting a kernel that died
 * (`InvalidStateError` on the pending `ready` future); a moment later the DELETE succeeds.
 */
async function deleteKernel(rest: JupyterRest, kernelId: string, signal: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rest.deleteKernel(kernelId, signal);
      return;
    } catch (e) {
      const err = toNbtError(e);
      const transient = err.code === 'SERVER_ERROR' || (err.code === 'SERVER_UNREACHABLE' && err.retryable && attempt < 2);
      if (!transient || signal.aborted) throw e;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(1000, 100 * 2 ** attempt));
        function done(): void {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}

/** The folder of a notebook path relative to the server root ('' for the root). */
function notebookDir(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

function resolveLimits(opts: RunOptions): RunLimits {
  const l: RunLimits = { ...DEFAULT_LIMITS, ...stripUndefined(opts.limits ?? {}) };
  const t = opts.request.timeouts;
  if (t.startSeconds !== undefined) l.startTimeoutMs = t.startSeconds * 1000;
  if (t.cellSeconds !== undefined) l.cellTimeoutMs = t.cellSeconds * 1000;
  if (t.runSeconds !== undefined) l.runTimeoutMs = Math.min(t.runSeconds * 1000, l.runTimeoutMs ?? Infinity);
  return l;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function logMessage(log: Logger, m: Message): void {
  log.log('DEBUG', `kernel ${m.channel} ${m.header.msg_type}`, {
    channel: m.channel, msgType: m.header.msg_type, parent: m.parent_header.msg_id, content: m.content,
  });
}
