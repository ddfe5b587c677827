/**
 * Run history for people, pure: the listing interface `nbtrigger runs` reads from, query matching and
 * newest-first ordering (for sources that do not filter themselves), the row each run becomes, and
 * the plain-text table. The run stores (functions/store/) satisfy {@link RunLister} structurally.
 *
 * Spec: docs/function.md (`nbtrigger runs`: newest first; when, notebook, status,
 * duration, failing cell, output link).
 * @module
 */
import { runRecordProblem, type RunRecord, type RunStatus } from '../run/record.js';
import { formatDuration } from './escape.js';
import { executionId, type JobRunState } from './job-runs.js';

/** A stored run as the history needs it: a run record plus, when present, identity and outputs. */
export type HistoryRun = RunRecord & {
  runId?: string;
  outputs?: { notebook?: string; html?: string; [name: string]: string | undefined };
  parameters?: Record<string, unknown>;
};

/** The statuses a run can end with. */
export const RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'timed_out', 'error'];

/** Filters for a listing. `notebook` with a `/` is a path, without one a file name in any folder. */
export interface HistoryQuery {
  notebook?: string;
  status?: RunStatus;
  limit?: number;
}

/** Anything that lists runs newest first (the local and Firestore run stores). */
export interface RunLister {
  list(query: HistoryQuery): Promise<HistoryRun[]>;
  close?(): Promise<void>;
}

/** One line of the listing. */
export interface RunRow {
  when: string;
  notebook: string;
  /** The record's status; for a job run without its record yet, its state (functions/report/job-runs.ts). */
  status: RunStatus | JobRunState;
  /** Job mode: the execution's id. */
  execution?: string;
  durationMs: number;
  runId?: string;
  /** 0-based index of the cell that raised, when a cell did. */
  failingCell?: number;
  /** `ename: evalue` of a cell error, else the error code and message. */
  failure?: string;
  /** Where the executed notebook went (local path, gs://…, server:/…). */
  output?: string;
  html?: string;
}

const stem = (p: string): string => p.replace(/^\/+/, '').replace(/\.ipynb$/i, '');

/** True when `run` matches every filter of `q`. */
export function matchesHistoryQuery(run: HistoryRun, q: HistoryQuery): boolean {
  if (q.status && run.status !== q.status) return false;
  if (q.notebook) {
    if (!run.notebook) return false;
    const want = stem(q.notebook);
    const have = stem(run.notebook);
    if (q.notebook.includes('/') ? have !== want : have.slice(have.lastIndexOf('/') + 1) !== want) return false;
  }
  return true;
}

/** Newest first by startedAt, then by runId (descending), so equal times order stably. */
function newestFirst(a: HistoryRun, b: HistoryRun): number {
  const d = Date.parse(b.startedAt) - Date.parse(a.startedAt);
  if (d !== 0 && !Number.isNaN(d)) return d;
  const ra = a.runId ?? '';
  const rb = b.runId ?? '';
  return ra < rb ? 1 : ra > rb ? -1 : 0;
}

/** Filters, orders and cuts a list of runs (for sources that do not). */
export function selectRuns(runs: HistoryRun[], q: HistoryQuery): HistoryRun[] {
  const out = runs.filter((r) => matchesHistoryQuery(r, q)).sort(newestFirst);
  return q.limit === undefined ? out : out.slice(0, q.limit);
}

/** True when a parsed JSON value has the shape of a run record. */
export function isRunRecord(v: unknown): v is HistoryRun {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.status === 'string' &&
    (RUN_STATUSES as readonly string[]).includes(r.status) &&
    typeof r.startedAt === 'string' &&
    !Number.isNaN(Date.parse(r.startedAt)) &&
    typeof r.durationMs === 'number' &&
    (r.notebook === null || typeof r.notebook === 'string') &&
    typeof r.cells === 'object' &&
    r.cells !== null
  );
}

/**
 * Why a value read from a run store cannot be shown as a run (the record schema, then the fields
 * the history adds: `runId`, `outputs`, `parameters`), or undefined when it can.
 */
export function historyRunProblem(v: unknown): string | undefined {
  const problem = runRecordProblem(v);
  if (problem !== undefined) return problem;
  const r = v as Record<string, unknown>;
  if (r.runId !== undefined && (typeof r.runId !== 'string' || !/^[A-Za-z0-9_.-]{1,100}$/.test(r.runId))) {
    return 'runId must be letters, digits, _ . -';
  }
  if (
    r.outputs !== undefined &&
    (typeof r.outputs !== 'object' ||
      r.outputs === null ||
      Array.isArray(r.outputs) ||
      Object.values(r.outputs).some((x) => typeof x !== 'string'))
  )
    return 'outputs must be an object of strings';
  const p = r.parameters;
  if (p !== undefined && (typeof p !== 'object' || p === null || Array.isArray(p))) {
    return 'parameters must be an object';
  }
  return undefined;
}

/** The row a run becomes. */
export function toRow(run: HistoryRun, state?: JobRunState): RunRow {
  const row: RunRow = {
    when: run.startedAt,
    notebook: run.notebook ?? '(none)',
    status: state ?? run.status,
    durationMs: run.durationMs,
  };
  if (run.execution) row.execution = executionId(run.execution);
  if (run.runId) row.runId = run.runId;
  const e = run.error;
  if (e) {
    if (typeof e.cellIndex === 'number') row.failingCell = e.cellIndex;
    row.failure = e.ename ? `${e.ename}${e.evalue ? `: ${e.evalue}` : ''}` : `${e.code}: ${e.message}`;
  }
  if (run.outputs?.notebook) row.output = run.outputs.notebook;
  if (run.outputs?.html) row.html = run.outputs.html;
  return row;
}

/** `2026-01-21 23:49:30Z` (UTC, to the second). */
export function formatWhen(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

/** Removes control characters (a record's text must not drive the terminal), collapses whitespace. */
export function printable(s: string, max = 80): string {
  // eslint-disable-next-line no-control-regex
  const t = s
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
    .trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The plain-text table `nbtrigger runs` prints (header + one line per run). */
export function formatRunsTable(rows: RunRow[]): string {
  if (rows.length === 0) return 'no runs found\n';
  // The EXECUTION column only when a job run is listed.
  const jobs = rows.some((r) => r.execution !== undefined);
  const header = [
    'WHEN',
    'NOTEBOOK',
    'STATUS',
    'DURATION',
    'CELL',
    'FAILURE',
    ...(jobs ? ['EXECUTION'] : []),
    'OUTPUT',
  ];
  const lines = rows.map((r) => [
    printable(formatWhen(r.when), 40),
    printable(r.notebook, 40),
    printable(r.status, 12),
    formatDuration(r.durationMs),
    r.failingCell === undefined ? '-' : String(r.failingCell),
    r.failure ? printable(r.failure, 40) : '-',
    ...(jobs ? [r.execution ? printable(r.execution, 80) : '-'] : []),
    r.output ? printable(r.output, 200) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: string[]): string =>
    cols
      .map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[fmt(header), ...lines.map(fmt)].join('\n')}\n`;
}
