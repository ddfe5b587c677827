/**
 * What one run's steps share: the options and limits, the clock, the REST client, the signals,
 * and what the run has learned so far (from which the record is built on every path). The
 * runner creates one per run ({@link createRunContext}); a per-run dependency (a connector, a
 * cookie jar) is one more field here, read by the steps that need it.
 *
 * Spec: docs/architecture.md (the data path); docs/function.md (the runner must).
 * @module
 */
import { NbtError } from '../errors.js';
import { CookieJar } from '../jupyter/cookie-jar.js';
import type { ExecuteResult, ProgressEvent } from '../jupyter/executor.js';
import { JupyterRest } from '../jupyter/rest.js';
import type { RestOptions } from '../jupyter/rest-transport.js';
import type { Logger } from '../log.js';
import { DEFAULT_NOTEBOOK_BOUNDS, type Notebook, type PlannedCell } from '../notebook/model.js';
import { httpBase } from '../request/address.js';
import type { RunRequest } from '../request/grammar.js';
import type { PreStartedKernel } from './early-kernel.js';
import type { Connector } from '../security/connector.js';
import type { NotebookSource } from '../sources/reader.js';
import type { RunRecord } from './record.js';

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
  startTimeoutMs: 120_000,
  maxOutputChars: 16 * 1024 * 1024,
  cleanupTimeoutMs: 10_000,
  maxNotebookBytes: 64 * 1024 * 1024,
  ...DEFAULT_NOTEBOOK_BOUNDS,
  memoryBudgetBytes: 256 * 1024 * 1024,
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
  /**
   * Where the notebook is read from when it is not the server's own file (sources/: a local file,
   * gs://, https://): read within the start deadline and the notebook cap; its URL and version go
   * to the record. The run then never calls the server's contents API.
   */
  notebookSource?: NotebookSource;
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
  /** A kernel started before the runner loaded, taken as the early kernel when it matches (run/early-kernel.ts). */
  preStarted?: PreStartedKernel;
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

/** What the run has learned so far: each step adds to it, the record reads it whatever happened. */
export interface RunFindings {
  notebook?: Notebook;
  /** The code cells planned (counted as aborted if the run ends before they are sent). */
  cells?: PlannedCell[];
  kernelName: string | null;
  exec?: ExecuteResult;
  warnings: string[];
  /** Where the notebook came from (an external source), once read. */
  source?: { url: string; version: string };
}

export interface RunContext {
  readonly opts: RunOptions;
  readonly req: RunRequest;
  readonly limits: RunLimits;
  readonly now: () => number;
  /** When the run began (ms since epoch). */
  readonly started: number;
  /** Absolute time by which the run must end, if any. */
  readonly deadline: number | undefined;
  /** The connection a warm kernel keeps for later runs: never the cookie jar. */
  readonly conn: RestOptions;
  readonly rest: JupyterRest;
  /** This run's cookies (session affinity, docs/deploy.md): every request of the run carries them. */
  readonly cookies: CookieJar | undefined;
  /** Aborted when the run ends, or cancelled with the caller's signal. */
  readonly inner: AbortController;
  /** The start: aborts with TIMEOUT at the deadline, naming what was under way, until the channel is open. */
  readonly start: StartPhase;
  readonly log?: Logger;
  /** `--verbose` with a debug logger: kernel messages are logged. */
  readonly debug: boolean;
  /** The notebook's folder: kernels run there, as in JupyterLab, so relative paths in cells work. */
  readonly dir: string;
  readonly found: RunFindings;
  /**
   * Called as the run ends: the deletions of kernels it started but does not run on (an early
   * one it did not take, one that started after the start phase was abandoned).
   */
  readonly sideCleanups: (() => Promise<void> | undefined)[];
}

/** Sets a run up: limits, deadline, REST client, the start phase, cancellation from the caller. */
export function createRunContext(opts: RunOptions): RunContext & { dispose(): void } {
  const now = opts.now ?? Date.now;
  const limits = resolveLimits(opts);
  const started = now();
  const deadline = limits.runTimeoutMs === undefined ? undefined : started + limits.runTimeoutMs;
  const req = opts.request;
  const conn: RestOptions = {
    server: req.server,
    token: opts.token,
    extraHeaders: opts.extraHeaders,
    connector: opts.connector,
  };
  const cookies = opts.cookieJar === false ? undefined : new CookieJar(httpBase(req.server));
  const inner = new AbortController();
  // A caller's own CANCELLED reason (the job's SIGTERM) names why; anything else is a plain cancel.
  const onOuterAbort = (): void => {
    const r: unknown = opts.signal?.reason;
    inner.abort(r instanceof NbtError && r.code === 'CANCELLED' ? r : new NbtError('CANCELLED', 'run cancelled'));
  };
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  // The run deadline covers the start too (server readiness, the notebook read, the kernel's
  // start, the channel's opening): every request of that phase is aborted when it passes.
  const start = startPhase(deadline, now, inner.signal);
  return {
    opts,
    req,
    limits,
    now,
    started,
    deadline,
    conn,
    rest: new JupyterRest({ ...conn, cookies }),
    cookies,
    inner,
    start,
    log: opts.log,
    debug: req.verbose === true && opts.log?.debugEnabled === true,
    dir: kernelDir(req, opts),
    found: { kernelName: req.kernelName ?? null, warnings: [] },
    sideCleanups: [],
    /** Ends the start phase and the run's signal; detaches from the caller's signal. Idempotent. */
    dispose: () => {
      opts.signal?.removeEventListener('abort', onOuterAbort);
      start.done();
      inner.abort();
    },
  };
}

/** The start of a run: a signal that aborts with TIMEOUT at the deadline, naming what was under way. */
export interface StartPhase {
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
  const timer =
    deadline === undefined
      ? undefined
      : setTimeout(
          () => {
            stop.abort(new NbtError('TIMEOUT', `the run deadline passed before the first cell, while ${p.phase}`));
          },
          Math.max(0, deadline - now()),
        );
  return p;
}

/**
 * `p`, or the abort reason of `signal` if it aborts first; `onLate` is then told that `p` is
 * left running (a started kernel must still be deleted).
 */
export function beforeAbort<T>(p: Promise<T>, signal: AbortSignal, onLate?: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      onLate?.();
      reject(signal.reason instanceof Error ? signal.reason : new NbtError('CANCELLED', 'run cancelled'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/**
 * Where kernels start: the request's folder, else the notebook's folder on the server; a notebook
 * read from elsewhere has none there, so the server's own default ('' is its root).
 */
function kernelDir(req: RunRequest, opts: RunOptions): string {
  if (req.kernelCwd !== undefined) return req.kernelCwd;
  return req.source || opts.notebookSource ? '' : notebookDir(req.notebook);
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
