/**
 * The runner: drives one notebook through a Jupyter server. Wait for the server (with the
 * notebook read in parallel) → pick and check the kernelspec → start a kernel → open the
 * channel → execute → record. The kernel it started is deleted on every path: success,
 * cell error, timeout, kernel death, cancellation, a bug.
 *
 * Spec: docs/architecture.md and docs/jupyter-protocol.md; docs/function.md (the runner must).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { isNbtError, NbtError, toNbtError } from '../errors.js';
import { frameLimit, KernelChannel, preloadWebSocket } from '../jupyter/channel.js';
import { CookieJar } from '../jupyter/cookie-jar.js';
import { executeCells, type ExecuteResult, type ProgressEvent } from '../jupyter/executor.js';
import { JupyterRest, type RestOptions } from '../jupyter/rest.js';
import { logMessage } from '../jupyter/message-log.js';
import { keepWarmKernel, silentExecute, SNAPSHOT_CODE, takeWarmKernel, warmKey } from '../jupyter/warm-kernels.js';
import { createReconnector, fetchKernelState } from '../jupyter/reconnect.js';
import { untilReady } from '../jupyter/retry.js';
import type { Logger } from '../log.js';
import type { Connector } from '../security/connector.js';
import { injectParameters } from '../notebook/parameters.js';
import {
  DEFAULT_NOTEBOOK_BOUNDS, notebookKernelName, parseNotebook, plannedCells, type Notebook, type PlannedCell,
} from '../notebook/model.js';
import { httpBase } from '../request/address.js';
import type { RunRequest } from '../request/grammar.js';
import { EarlyKernel } from './early-kernel.js';
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
  /** Largest notebook read, bytes (UTF-8). */
  maxNotebookBytes: number;
  /** Most cells a notebook may have. */
  maxCells: number;
  /** Longest source one cell may have, characters. */
  maxCellSourceChars: number;
  /** Memory one kernel message may take: bounds the WebSocket frame size (channel.ts frameLimit). */
  memoryBudgetBytes: number;
}

export const DEFAULT_LIMITS: RunLimits = {
  startTimeoutMs: 120_000, maxOutputChars: 16 * 1024 * 1024, cleanupTimeoutMs: 10_000,
  maxNotebookBytes: 64 * 1024 * 1024, ...DEFAULT_NOTEBOOK_BOUNDS, memoryBudgetBytes: 256 * 1024 * 1024,
};

export interface RunOptions {
  request: RunRequest;
  /** The Jupyter token ('' for none). Used for headers only; never recorded. */
  token: string;
  extraHeaders?: Record<string, string>;
  /** Opens every connection to the server (the function's SSRF guard: security/connector.ts). */
  connector?: Connector;
  limits?: Partial<RunLimits>;
  /** Notebook text read elsewhere (a local file); when absent it is read through the contents API. */
  notebookText?: Promise<string>;
  signal?: AbortSignal;
  log?: Logger;
  onProgress?: (e: ProgressEvent & { cells: number }) => void;
  /** Called once the notebook is parsed, with the number of cells that will be sent. */
  onPlan?: (nb: Notebook, cells: PlannedCell[]) => void;
  now?: () => number;
  /**
   * Return as soon as the cells are done, before the kernel is deleted (≈0.1–0.4 s on Jupyter
   * Server), with the deletion in {@link RunOutcome.cleanup}: the caller writes outputs and the
   * record meanwhile and MUST await `cleanup` before it returns or exits. Default: deleted first.
   */
  deferCleanup?: boolean;
  /**
   * Reuse a kernel kept by an earlier successful run of this process (same server, credentials,
   * kernelspec and notebook folder), reset to a fresh namespace; keep this run's kernel likewise
   * when it succeeds. IPython kernels only. See jupyter/warm-kernels.ts for what a reset isolates.
   */
  warmKernel?: boolean;
  /** `false`: no cookie jar (tests show what a run without session affinity does). Default: one jar per run. */
  cookieJar?: false;
}

/** What a run produced: the record, and the notebook and outputs when it got that far. */
export interface RunOutcome {
  record: RunRecord;
  error?: NbtError;
  notebook?: Notebook;
  exec?: ExecuteResult;
  /**
   * With `deferCleanup`: settles (never rejects) once the run's kernel is deleted and its
   * connections are closed. Without it: already settled.
   */
  cleanup?: Promise<void>;
  /** The run's cookie jar (session affinity): the run's later requests (outputs, nbconvert) carry it. */
  cookies?: CookieJar;
}

/** Runs one notebook. Never throws: every outcome is in the record. */
export async function runNotebook(opts: RunOptions): Promise<RunOutcome> {
  const now = opts.now ?? Date.now;
  preloadWebSocket().catch(() => undefined); // loads while the server is asked and the kernel starts
  const limits = resolveLimits(opts);
  const started = now();
  const deadline = limits.runTimeoutMs === undefined ? undefined : started + limits.runTimeoutMs;
  const req = opts.request;
  const conn: RestOptions = { server: req.server, token: opts.token, extraHeaders: opts.extraHeaders, connector: opts.connector };
  // One jar per run (never in `conn`, which a warm kernel keeps for later runs): docs/deploy.md, session affinity.
  const cookies = opts.cookieJar === false ? undefined : new CookieJar(httpBase(req.server));
  const rest = new JupyterRest({ ...conn, cookies });
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
  let cleanup: Promise<void> | undefined;
  let early: EarlyKernel | undefined;
  let late: Promise<void> | undefined;
  const warnings: string[] = [];
  // The run deadline covers the start too (server readiness, the notebook read, the kernel's
  // start, the channel's opening): every request of that phase is aborted when it passes.
  const start = startPhase(deadline, now, inner.signal);
  try {
    const startDeadline = Math.min(started + limits.startTimeoutMs, deadline ?? Infinity);
    const ready = { deadline: startDeadline, signal: start.signal, now };
    // The kernel the run most likely needs starts now, beside the reads (see early-kernel.ts).
    // The kernel runs in the notebook's folder, as in JupyterLab, so relative paths in cells work.
    const dir = notebookDir(req.notebook);
    if (!opts.warmKernel) {
      early = new EarlyKernel({
        start: (name, path) => rest.startKernel(name, undefined, path),
        remove: (id) => deleteKernel(rest, id, AbortSignal.timeout(limits.cleanupTimeoutMs))
          .catch((e: unknown) => log?.log('WARNING', 'kernel delete failed', { kernelId: id, error: String(e) })),
      }, req.kernelName, dir);
    }
    // A deadline that passes while the server has not answered yet is the server's unavailability
    // (transient: retried), not the notebook's timeout; once it answered, a slow read is a TIMEOUT.
    let answered = false;
    const heard = <T>(v: T): T => { answered = true; return v; };
    const [specs, text] = await Promise.all([
      untilReady(() => rest.kernelspecs(start.signal), ready).then(heard),
      opts.notebookText ? beforeAbort(opts.notebookText, start.signal)
        : untilReady(() => rest.readText(req.notebook, start.signal, limits.maxNotebookBytes), ready).then(heard),
    ]).catch((e: unknown) => {
      if (answered || !isNbtError(e) || e.code !== 'TIMEOUT' || inner.signal.aborted) throw e;
      throw new NbtError('SERVER_UNREACHABLE', `server ${httpBase(req.server)} not ready before the run deadline`, { cause: e });
    });
    if (text.length > limits.maxNotebookBytes && Buffer.byteLength(text) > limits.maxNotebookBytes) {
      throw new NbtError('BAD_NOTEBOOK',
        `notebook "${req.notebook}" is larger than the cap of ${limits.maxNotebookBytes} bytes ` +
        '(NBTRIGGER_MAX_NOTEBOOK_BYTES)',
        { details: { field: 'notebook', maxBytes: limits.maxNotebookBytes } });
    }
    start.phase = 'starting the kernel';
    notebook = parseNotebook(text, req.notebook, limits);
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
    const key = opts.warmKernel && spec.language === 'python' ? warmKey(rest.base, rest.headers, name, dir) : undefined;
    const warmId = key === undefined ? undefined : await takeWarmKernel(key, rest, opts.connector);
    // A kernel whose start outlasts the deadline is deleted once it has started.
    const starting = warmId !== undefined ? Promise.resolve({ id: warmId, name })
      : (early ? early.take(name) : Promise.resolve(undefined)).then((k) => k ??
        (start.signal.aborted ? Promise.reject(new Error('aborted')) : rest.startKernel(name, undefined, dir)));
    const kernel = await beforeAbort(starting, start.signal, () => {
      const removal = (k: { id: string }): Promise<void> =>
        deleteKernel(rest, k.id, AbortSignal.timeout(limits.cleanupTimeoutMs));
      late = starting.then(removal, () => undefined)
        .catch((e: unknown) => log?.log('WARNING', 'kernel delete failed', { error: String(e) }));
    });
    start.phase = 'opening the kernel channel';
    if (debug) log!.log('DEBUG', warmId ? 'warm kernel reused' : 'kernel started', { kernelId: kernel.id, kernelName: name });
    const warm = key === undefined ? undefined : { key, conn };
    const ran = await withKernel(rest, kernel.id, limits, warm, async () => {
      const session = randomUUID();
      // Every channel of the run uses the same session id: a reconnect gets what the server buffered.
      const channels: KernelChannel[] = [];
      const open = async (signal: AbortSignal): Promise<KernelChannel> => {
        // Jupyter Server holds the upgrade until the kernel answers: the handshake is part of the kernel's
        // start, bounded by the start timeout (at least 30 s) and never past the run's deadline.
        const ch = await KernelChannel.connect({
          server: req.server, kernelId: kernel.id, sessionId: session, headers: rest.headers, cookies, signal,
          connector: opts.connector, maxStringBytes: limits.maxOutputChars + 1, deadline,
          connectTimeoutMs: Math.max(30_000, limits.startTimeoutMs),
          maxPayload: frameLimit(limits.maxOutputChars, limits.memoryBudgetBytes),
        });
        channels.push(ch);
        return ch;
      };
      const reconnect = limits.reconnectAttempts === 0 ? undefined : createReconnector({
        // The executor aborts `signal` when the run ends (which a cancellation of `inner` also causes).
        connect: open,
        kernelState: (signal) => fetchKernelState({ base: rest.base, headers: rest.headers, kernelId: kernel.id, connector: opts.connector, cookies }, signal),
        attempts: limits.reconnectAttempts, deadline, now,
        onAttempt: (attempt, err) => log?.log('WARNING', err ? 'kernel channel reconnect attempt failed' : 'kernel channel dropped: reconnecting',
          { kernelId: kernel.id, attempt, ...(err ? { error: err.message } : {}) }),
      });
      const channel = await open(start.signal);
      start.done();
      // A kernel that may be kept: record what its reset restores, before any cell runs (silent).
      if (warm && warmId === undefined) channel.send(silentExecute(session, SNAPSHOT_CODE));
      try {
        return await executeCells(channel, cells!, {
          reconnect, interrupt: () => rest.interruptKernel(kernel.id, AbortSignal.timeout(Math.min(5000, limits.cleanupTimeoutMs))),
          session, sequential: req.sequential === true, cellTimeoutMs: limits.cellTimeoutMs, deadline,
          maxOutputChars: limits.maxOutputChars, secrets: opts.token ? [opts.token] : [], signal: inner.signal, now,
          onProgress: opts.onProgress && ((e) => opts.onProgress!({ ...e, cells: cells!.length })),
          onMessage: debug ? (m) => logMessage(log!, m, opts.token ? [opts.token] : []) : undefined,
        });
      } finally {
        for (const ch of channels) ch.close();
      }
    }, log);
    exec = ran.exec;
    cleanup = ran.cleanup;
    error = exec.failure;
  } catch (e) {
    error = toNbtError(e);
    if (error.code === 'INTERNAL') log?.log('ERROR', 'internal error', { error: String((e as Error)?.stack ?? e) });
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
    start.done();
    inner.abort();
    // The kernels' deletion (the run's, an early one it did not use, one that started late)
    // still needs the connection pool: it is closed after it.
    cleanup = Promise.all([cleanup, early?.discard(), late]).then(() => rest.close());
    if (!opts.deferCleanup) await cleanup;
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
  return { record, error, notebook, exec, cleanup, cookies };
}

/**
 * Runs `body` with a started kernel; the kernel is deleted afterwards whatever happens: when
 * `body` throws, before the error propagates; otherwise by the returned `cleanup` (which never
 * rejects). On a timeout or cancellation the kernel is interrupted first, as a person would.
 */
async function withKernel(rest: JupyterRest, kernelId: string, limits: RunLimits, warm: WarmSlot | undefined, body: () => Promise<ExecuteResult>,
  log?: Logger): Promise<{ exec: ExecuteResult; cleanup: Promise<void> }> {
  let result: ExecuteResult;
  try {
    result = await body();
  } catch (e) {
    await releaseKernel(rest, kernelId, limits, undefined, undefined, log);
    throw e;
  }
  return { exec: result, cleanup: releaseKernel(rest, kernelId, limits, result, warm, log) };
}

interface WarmSlot {
  key: string;
  conn: RestOptions;
}

async function releaseKernel(rest: JupyterRest, kernelId: string, limits: RunLimits, result: ExecuteResult | undefined, warm: WarmSlot | undefined,
  log?: Logger): Promise<void> {
  // Only a clean run hands its kernel on (reset first); anything else deletes it.
  if (warm && result && !result.failure && result.reconnects === 0) {
    const kept = await keepWarmKernel(warm.key, kernelId, warm.conn).catch((e: unknown) => {
      log?.log('WARNING', 'kernel delete failed', { kernelId, error: String(e) });
      return 'failed';
    });
    if (kept !== 'failed') return;
  }
  const cleanup = AbortSignal.timeout(limits.cleanupTimeoutMs);
  const code = result?.failure?.code;
  if ((code === 'TIMEOUT' && !result?.interrupted) || code === 'CANCELLED') {
    await rest.interruptKernel(kernelId, cleanup).catch((e: unknown) => log?.log('WARNING', 'kernel interrupt failed', { kernelId, error: String(e) }));
  }
  await deleteKernel(rest, kernelId, cleanup).catch((e: unknown) => log?.log('WARNING', 'kernel delete failed', { kernelId, error: String(e) }));
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

/** The start of a run: a signal that aborts with TIMEOUT at the deadline, naming what was under way. */
interface StartPhase {
  signal: AbortSignal;
  phase: string;
  /** Ends the phase (the executor keeps the deadline from there); idempotent. */
  done(): void;
}

function startPhase(deadline: number | undefined, now: () => number, outer: AbortSignal): StartPhase {
  const stop = new AbortController();
  const p: StartPhase = {
    signal: AbortSignal.any([outer, stop.signal]),
    phase: 'waiting for the server and reading the notebook',
    done: () => clearTimeout(timer),
  };
  const timer = deadline === undefined ? undefined : setTimeout(() => {
    stop.abort(new NbtError('TIMEOUT', `the run deadline passed before the first cell, while ${p.phase}`));
  }, Math.max(0, deadline - now()));
  return p;
}

/**
 * `p`, or the abort reason of `signal` if it aborts first; `onLate` is then told that `p` is
 * left running (a started kernel must still be deleted).
 */
function beforeAbort<T>(p: Promise<T>, signal: AbortSignal, onLate?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      onLate?.();
      reject(signal.reason instanceof Error ? signal.reason : new NbtError('CANCELLED', 'run cancelled'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    }, (e: unknown) => {
      signal.removeEventListener('abort', onAbort);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
  });
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

