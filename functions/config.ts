/**
 * The function's configuration, read from its environment once per invocation: plain data in,
 * plain data out (tests pass an object). Every knob the function has is here, with its default.
 *
 * Spec: docs/function.md (the environment table: token, server, outputs, records, notifications,
 * deadline, retries, dedupe), docs/security.md (ALLOWED_SERVERS, ALLOWED_OUTPUTS, bounds).
 * @module
 */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { notifyConfig, type NotifyConfig } from './notify/notify-run.js';
import type { GrammarEnv } from './request/grammar.js';
import { DEFAULT_OUTPUT_SUFFIX } from './sinks/location.js';

export interface HandlerEnv extends GrammarEnv {
  JUPYTER_TOKEN?: string;
  /** Servers the function may talk to: `host[:port]` patterns (default: JUPYTER_SERVER exactly). */
  ALLOWED_SERVERS?: string;
  /** The function's timeout in seconds (Cloud Functions default 540 for event functions). */
  FUNCTION_TIMEOUT_SEC?: string;
  /** How long after publishing a transient failure is still retried, seconds (default 1800). */
  NBTRIGGER_RETRY_WINDOW_SEC?: string;
  /** Delivery attempts after which a transient failure is given up (default 10). */
  NBTRIGGER_MAX_ATTEMPTS?: string;
  /** Where records and dedupe leases live: `local` (default), `firestore`, or `none`. */
  NBTRIGGER_STORE?: string;
  /** Local store folder (default ./runs, or $TMPDIR/nbtrigger-runs on Cloud Functions). */
  NBTRIGGER_RUNS_DIR?: string;
  /** Default output template for executed notebooks (a message's `output` wins). */
  NBTRIGGER_OUTPUT?: string;
  /**
   * `gs://` and `server:` outputs a message may choose (security/outputs.ts); default: NBTRIGGER_OUTPUT's
   * `gs://` folder and the notebook's own server.
   */
  ALLOWED_OUTPUTS?: string;
  /**
   * Notebook sources (gs://, https://, file://) a message may read (security/sources.ts); default:
   * the bucket of NBTRIGGER_OUTPUT when it is gs://, else none.
   */
  ALLOWED_SOURCES?: string;
  /** Largest notebook the function reads, bytes (default 64 MiB). */
  NBTRIGGER_MAX_NOTEBOOK_BYTES?: string;
  /** Most cells a notebook may have (default 10,000). */
  NBTRIGGER_MAX_CELLS?: string;
  /** Longest source one cell may have, characters (default 4 Mi). */
  NBTRIGGER_MAX_CELL_SOURCE?: string;
  /** Memory one run may spend on a single kernel message, MiB: bounds the WebSocket frame size (default 256). */
  NBTRIGGER_MEMORY_BUDGET_MB?: string;
  /** `1`/`true`: also write an HTML rendering next to each executed notebook. */
  NBTRIGGER_HTML?: string;
  /**
   * `1`/`true`: keep a reset kernel for the next run of the same notebook folder
   * (functions/jupyter/warm-kernels.ts).
   */
  NBTRIGGER_WARM_KERNEL?: string;
  /** Job mode: the Cloud Run Jobs a message may start (full names, comma separated, a trailing `*` a prefix). */
  ALLOWED_JOBS?: string;
  /** Job mode, the local stack: the path of bin/nbtrigger.js; jobs run as `nbtrigger job` child processes. */
  NBTRIGGER_LOCAL_JOB_BIN?: string;
  /** Set by Cloud Run / Cloud Functions gen2: the function runs in the cloud. */
  K_SERVICE?: string;
}

/** Seconds kept between the run deadline and the platform's kill, for interrupt, delete, outputs and logging. */
export const DEADLINE_MARGIN_SEC = 30;

export type StateConfig =
  | { kind: 'local'; root: string }
  | { kind: 'firestore'; runsCollection?: string; leasesCollection?: string }
  | { kind: 'none' };

export interface FunctionConfig {
  /** undefined when JUPYTER_TOKEN is not set (a configuration error reported per message). */
  token: string | undefined;
  timeoutSec: number;
  /** The run deadline: the function timeout minus {@link DEADLINE_MARGIN_SEC}. */
  runTimeoutMs: number;
  /** Dedupe and overlap leases outlive the function's timeout. */
  leaseTtlMs: number;
  retryWindowSec: number;
  maxAttempts: number;
  state: StateConfig;
  /** Output template for the executed notebook, when one is written by default. */
  output: string | undefined;
  /** The runs folder: the local store's root, and where a message's (relative) local output goes. */
  runsDir: string;
  /** Bounds on what a run reads and holds (each undefined: the runner's default). */
  bounds: ReadBounds;
  html: boolean;
  notify: NotifyConfig;
  /** Opt-in warm kernels (NBTRIGGER_WARM_KERNEL). */
  warmKernel: boolean;
}

/** Bounds on the notebook read and on kernel messages (see functions/run/runner.ts RunLimits). */
export interface ReadBounds {
  maxNotebookBytes?: number;
  maxCells?: number;
  maxCellSourceChars?: number;
  memoryBudgetBytes?: number;
}

/** The bounds set in the environment (shared by the function and the CLI). */
export function readBounds(env: NodeJS.ProcessEnv | HandlerEnv): ReadBounds {
  const mb = positiveNumber(env.NBTRIGGER_MEMORY_BUDGET_MB, NaN);
  const b: ReadBounds = {
    maxNotebookBytes: wholeNumber(env.NBTRIGGER_MAX_NOTEBOOK_BYTES),
    maxCells: wholeNumber(env.NBTRIGGER_MAX_CELLS),
    maxCellSourceChars: wholeNumber(env.NBTRIGGER_MAX_CELL_SOURCE),
    memoryBudgetBytes: Number.isNaN(mb) ? undefined : Math.round(mb * 1024 * 1024),
  };
  return Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) as ReadBounds;
}

/**
 * Reads the configuration. Never throws: bad values fall back to defaults (and ALLOWED_SERVERS is
 * checked by the guard).
 */
export function functionConfig(env: HandlerEnv & NodeJS.ProcessEnv): FunctionConfig {
  const timeoutSec = positiveNumber(env.FUNCTION_TIMEOUT_SEC, 540);
  const store = (env.NBTRIGGER_STORE ?? 'local').trim().toLowerCase();
  const root = resolve(env.NBTRIGGER_RUNS_DIR ?? (env.K_SERVICE ? join(tmpdir(), 'nbtrigger-runs') : 'runs'));
  const state: StateConfig =
    store === 'firestore'
      ? {
          kind: 'firestore',
          runsCollection: env.NBTRIGGER_RUNS_COLLECTION,
          leasesCollection: env.NBTRIGGER_LEASES_COLLECTION,
        }
      : store === 'none'
        ? { kind: 'none' }
        : { kind: 'local', root };
  const output = env.NBTRIGGER_OUTPUT ?? (state.kind === 'local' ? join(root, DEFAULT_OUTPUT_SUFFIX) : undefined);
  return {
    token: env.JUPYTER_TOKEN,
    timeoutSec,
    runTimeoutMs: Math.max(10, timeoutSec - DEADLINE_MARGIN_SEC) * 1000,
    leaseTtlMs: (timeoutSec + 60) * 1000,
    retryWindowSec: positiveNumber(env.NBTRIGGER_RETRY_WINDOW_SEC, 1800),
    maxAttempts: positiveNumber(env.NBTRIGGER_MAX_ATTEMPTS, 10),
    state,
    output,
    runsDir: root,
    bounds: readBounds(env),
    html: /^(1|true|yes)$/i.test(env.NBTRIGGER_HTML ?? ''),
    notify: notifyConfig(env),
    warmKernel: /^(1|true|yes)$/i.test(env.NBTRIGGER_WARM_KERNEL ?? ''),
  };
}

/**
 * A job's dedupe and overlap leases (NBTRIGGER_JOB_LEASE_SEC): short, renewed while the run lasts,
 * so a lost task frees them soon.
 */
export const JOB_LEASE_TTL_MS = 5 * 60_000;

/**
 * The configuration of a run inside a Cloud Run Job (`nbtrigger job`): the function's, except that
 * FUNCTION_TIMEOUT_SEC does not cap it. The deadline is the request's `timeouts.runSeconds`, else
 * the longest task Cloud Run allows (168 h, https://cloud.google.com/run/docs/configuring/task-timeout);
 * the task's own timeout ends it sooner with SIGTERM.
 */
export function jobConfig(env: HandlerEnv & NodeJS.ProcessEnv, runSeconds: number | undefined): FunctionConfig {
  const cfg = functionConfig(env);
  const runTimeoutMs = (runSeconds ?? 168 * 3600) * 1000;
  const leaseSec = positiveNumber(env.NBTRIGGER_JOB_LEASE_SEC, JOB_LEASE_TTL_MS / 1000);
  return { ...cfg, timeoutSec: runTimeoutMs / 1000, runTimeoutMs, leaseTtlMs: Math.round(leaseSec * 1000) };
}

function wholeNumber(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function positiveNumber(v: string | undefined, fallback: number): number {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
