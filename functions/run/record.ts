/**
 * The run record: the one JSON document that says what a run did. Printed by
 * `nbtrigger run --json`, logged once per function invocation. Pure. Never holds a token.
 *
 * Spec: issue "Run a notebook …" (contract: status, notebook, server, kernelName, startedAt,
 * durationMs, cells, error, lastResult).
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { IMimeBundle } from '@jupyterlab/nbformat';
import type { NbtError } from '../errors.js';
import type { CellRun } from '../jupyter/executor.js';

/** `skipped`: the function did not run the notebook on purpose (a duplicate, or an overlapping firing). */
export type RunStatus = 'succeeded' | 'failed' | 'timed_out' | 'error' | 'skipped';

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
  /** Why a `skipped` run was not run. */
  skip?: { reason: 'duplicate' | 'overlap'; detail: string };
}

/** The record of a request that never reached a server (bad message, bad configuration). */
export function rejectedRecord(e: NbtError, startedAt: number, now: number): RunRecord {
  return {
    status: 'error', notebook: null, server: null, kernelName: null, startedAt: new Date(startedAt).toISOString(),
    durationMs: now - startedAt, cells: { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 },
    error: recordError(e), warnings: [],
  };
}

/** The record of a message handled without running the notebook (a duplicate, an overlapping firing). */
export function skippedRecord(reason: 'duplicate' | 'overlap', detail: string, base: { notebook: string; server: string }, startedAt: number, now: number): RunRecord {
  return {
    status: 'skipped', notebook: base.notebook, server: base.server, kernelName: null, startedAt: new Date(startedAt).toISOString(),
    durationMs: now - startedAt, cells: { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 },
    warnings: [], skip: { reason, detail },
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
    if (r.status === 'ok' || (r.status === 'error' && r.allowError)) { c.executed++; c.succeeded++; }
    else if (r.status === 'error' && r.startedAt !== undefined) { c.executed++; c.failed++; }
    else if (r.status === 'timed_out') { c.executed++; c.failed++; }
    else if (r.status === 'skipped') c.skipped++;
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
