/**
 * The run record: the one JSON document that says what a run did. Printed by
 * `nbtrigger run --json`, logged once per function invocation. Pure. Never holds a token.
 *
 * Spec: docs/function.md (contract: status, notebook, server, kernelName, startedAt,
 * durationMs, cells, error, lastResult).
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { IMimeBundle } from '@jupyterlab/nbformat';
import type { NbtError } from '../errors.js';
import type { CellRun } from '../jupyter/executor.js';

/**
 * `skipped`: the function did not run the notebook on purpose (a duplicate, or an overlapping firing).
 * `dispatched`: the function started a Cloud Run Job execution that runs it (job mode); the job
 * writes its own record, holding the same `execution`.
 */
export type RunStatus = 'succeeded' | 'failed' | 'timed_out' | 'error' | 'skipped' | 'dispatched';

export interface CellCounts {
  total: number;
  executed: number;
  succeeded: number;
  failed: number;
  aborted: number;
  skipped: number;
}

export interface RecordError {
  code: string;
  message: string;
  retryable: boolean;
  cellIndex?: number;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

export interface RunRecord {
  status: RunStatus;
  /** Notebook path on the server; null when the request could not be parsed. */
  notebook: string | null;
  /** Base URL of the server, never with a token; null when the request could not be parsed. */
  server: string | null;
  kernelName: string | null;
  startedAt: string;
  durationMs: number;
  cells: CellCounts;
  error?: RecordError;
  lastResult?: IMimeBundle;
  warnings: string[];
  messageId?: string;
  /** Outputs (executed notebook, HTML) that could not be written: the run itself is kept and recorded. */
  outputErrors?: Array<{ kind: 'notebook' | 'html'; location: string; code: string; message: string }>;
  /**
   * Where the notebook was read from, when not the server's own file: its URL (never a query) and
   * version (GCS `generation`, HTTP `ETag`, or `sha256:<hex>` of the bytes).
   */
  source?: { url: string; version: string };
  /** Job mode: the Cloud Run Job (full name) that runs the notebook. */
  job?: string;
  /** Job mode: the execution's full name (the dispatch's record and the job's own). */
  execution?: string;
  /** Job mode: CLOUD_RUN_TASK_ATTEMPT of the task that wrote the record (0 = the first attempt). */
  attempt?: number;
  /** Job mode: the dedupe key the job claims (`run:` + the dispatch's key); `nbtrigger runs` reads its lease. */
  runKey?: string;
  /** Why a `skipped` run was not run. */
  skip?: { reason: 'duplicate' | 'overlap'; detail: string };
}

/** The record of a request that never reached a server (bad message, bad configuration). */
export function rejectedRecord(e: NbtError, startedAt: number, now: number): RunRecord {
  return {
    status: 'error',
    notebook: null,
    server: null,
    kernelName: null,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: now - startedAt,
    cells: { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 },
    error: recordError(e),
    warnings: [],
  };
}

/** The record of a message handled without running the notebook (a duplicate, an overlapping firing). */
export function skippedRecord(
  reason: 'duplicate' | 'overlap',
  detail: string,
  base: { notebook: string; server: string },
  startedAt: number,
  now: number,
): RunRecord {
  return {
    status: 'skipped',
    notebook: base.notebook,
    server: base.server,
    kernelName: null,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: now - startedAt,
    cells: { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 },
    warnings: [],
    skip: { reason, detail },
  };
}

/** A new run id: 12 hex digits, safe as a file name and a Firestore document id. */
export function newRunId(): string {
  return randomBytes(6).toString('hex');
}

/** Maps an outcome to the record status. */
export function statusFor(error: NbtError | undefined): RunStatus {
  if (!error) return 'succeeded';
  if (error.code === 'CELL_ERROR') return 'failed';
  if (error.code === 'TIMEOUT') return 'timed_out';
  return 'error';
}

/**
 * Counts cells. `total` is every cell of the notebook; executed = ran (ok or error);
 * aborted = code cells not run because of an earlier error, a timeout or a crash;
 * skipped = markdown, raw, empty and `skip-execution` cells. total = executed + aborted + skipped.
 */
export function countCells(totalCells: number, runs: CellRun[] | undefined, codeCellsPlanned: number): CellCounts {
  const c: CellCounts = { total: totalCells, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 };
  for (const r of runs ?? []) {
    // A `raises-exception` cell that raised did what it promised: it counts as succeeded.
    if (r.status === 'ok' || (r.status === 'error' && r.allowError)) {
      c.executed++;
      c.succeeded++;
    } else if (r.status === 'error' && r.startedAt !== undefined) {
      c.executed++;
      c.failed++;
    } else if (r.status === 'timed_out') {
      c.executed++;
      c.failed++;
    } else if (r.status === 'skipped') c.skipped++;
    else c.aborted++;
  }
  // Planned cells with no run at all (the run ended before they were queued) are aborted too.
  const notSent = Math.max(0, codeCellsPlanned - (runs?.length ?? 0));
  c.aborted += notSent;
  c.skipped += totalCells - codeCellsPlanned;
  return c;
}

/** The error part of a record. */
export function recordError(e: NbtError): RecordError {
  const out: RecordError = { code: e.code, message: e.message, retryable: e.retryable };
  const d = e.details;
  if (typeof d.cellIndex === 'number') out.cellIndex = d.cellIndex;
  if (typeof d.ename === 'string') out.ename = d.ename;
  if (typeof d.evalue === 'string') out.evalue = d.evalue;
  if (Array.isArray(d.traceback)) out.traceback = d.traceback as string[];
  return out;
}

/** Renders the last result for a person: `text/plain` when there is one, else the MIME types. */
export function describeResult(r: IMimeBundle | undefined): string | undefined {
  if (!r) return undefined;
  const plain = r['text/plain'];
  if (plain !== undefined) return Array.isArray(plain) ? plain.join('') : String(plain);
  return `<${Object.keys(r).join(', ')}>`;
}

/** Every status a record may hold. */
const RECORD_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'timed_out', 'error', 'skipped', 'dispatched'];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const nullableString = (v: unknown): boolean => v === null || typeof v === 'string';
const count = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const strings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * Checks a value read back from a store (a file, a Firestore document: anyone who can write there
 * can put anything in it) against the record's schema. Returns why it is not a run record, naming
 * the field, or undefined when it is one. Unknown extra fields are allowed (stores add their own).
 */
export function runRecordProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'not a JSON object';
  if (typeof v.status !== 'string' || !(RECORD_STATUSES as readonly string[]).includes(v.status)) {
    return `status must be one of ${RECORD_STATUSES.join(', ')}`;
  }
  for (const k of ['notebook', 'server', 'kernelName'] as const) {
    if (!nullableString(v[k])) return `${k} must be a string or null`;
  }
  const iso = /^\d{4}-\d\d-\d\dT[\d:.]+Z$/;
  if (typeof v.startedAt !== 'string' || !iso.test(v.startedAt) || Number.isNaN(Date.parse(v.startedAt))) {
    return 'startedAt must be an ISO time (UTC)';
  }
  if (typeof v.durationMs !== 'number' || !Number.isFinite(v.durationMs) || v.durationMs < 0) {
    return 'durationMs must be a number ≥ 0';
  }
  if (!isObj(v.cells)) return 'cells must be an object';
  for (const k of ['total', 'executed', 'succeeded', 'failed', 'aborted', 'skipped'] as const) {
    if (!count(v.cells[k])) return `cells.${k} must be a count`;
  }
  if (!strings(v.warnings)) return 'warnings must be a list of strings';
  if (v.error !== undefined) {
    const e = v.error;
    if (!isObj(e)) return 'error must be an object';
    if (typeof e.code !== 'string' || typeof e.message !== 'string' || typeof e.retryable !== 'boolean') {
      return 'error must have a code, a message and retryable';
    }
    if (e.cellIndex !== undefined && !count(e.cellIndex)) return 'error.cellIndex must be a count';
    for (const k of ['ename', 'evalue'] as const) {
      if (e[k] !== undefined && typeof e[k] !== 'string') return `error.${k} must be a string`;
    }
    if (e.traceback !== undefined && !strings(e.traceback)) return 'error.traceback must be a list of strings';
  }
  if (v.lastResult !== undefined && !isObj(v.lastResult)) return 'lastResult must be an object';
  if (v.messageId !== undefined && typeof v.messageId !== 'string') return 'messageId must be a string';
  const outputError = (o: unknown): boolean =>
    isObj(o) &&
    (o.kind === 'notebook' || o.kind === 'html') &&
    typeof o.location === 'string' &&
    typeof o.code === 'string' &&
    typeof o.message === 'string';
  if (v.outputErrors !== undefined && !(Array.isArray(v.outputErrors) && v.outputErrors.every(outputError))) {
    return 'outputErrors must be a list of {kind, location, code, message}';
  }
  const src = v.source;
  if (src !== undefined && !(isObj(src) && typeof src.url === 'string' && typeof src.version === 'string')) {
    return 'source must be {url, version}';
  }
  const skip = v.skip;
  const skipOk =
    isObj(skip) && (skip.reason === 'duplicate' || skip.reason === 'overlap') && typeof skip.detail === 'string';
  if (skip !== undefined && !skipOk) {
    return 'skip must be {reason: duplicate|overlap, detail}';
  }
  return undefined;
}
