/**
 * Run history: the one interface both run stores implement (local files, Firestore), and the
 * pure logic they share (record naming, query normalisation, matching, ordering).
 * No I/O here; `open-stores.ts` opens an implementation.
 *
 * Spec: docs/function.md (record beside its notebook locally, Firestore in the
 * cloud, queryable by notebook, status and time; `nbtrigger runs` lists newest first).
 * @module
 */
import type { RunRecord, RunStatus } from '../run/record.js';

/** Where a run's artefacts went (local path, `gs://…`, `server:/…`). */
export interface OutputLocations {
  notebook?: string;
  html?: string;
  [name: string]: string | undefined;
}

/** A run record as stored: the runner's record plus identity, parameters and outputs. */
export type StoredRun = RunRecord & {
  runId: string;
  parameters?: Record<string, unknown>;
  outputs?: OutputLocations;
  /** Schedule (or deploy job) that fired the run, when known. */
  schedule?: string;
};

/** Where a stored record lives: a file path (local) or a document path (Firestore). */
export interface RunRef {
  runId: string;
  location: string;
}

/** Filters for `list`; every field optional. Results are newest first (startedAt desc, then runId desc). */
export interface RunQuery {
  /**
   * A notebook: with a `/` it is a path (leading `/` and `.ipynb` optional, compared exactly);
   * without one it is a name, matching the notebook's base name in any folder.
   */
  notebook?: string;
  status?: RunStatus | RunStatus[];
  /** Inclusive lower bound on startedAt. */
  since?: Date | string;
  /** Exclusive upper bound on startedAt. */
  until?: Date | string;
  /** Default 50, at most 1000. */
  limit?: number;
}

/** The run history store. Implementations: `LocalRunStore`, `FirestoreRunStore`. */
export interface RunStore {
  /** Saves (creates or replaces) the record of `run.runId`. */
  save(run: StoredRun): Promise<RunRef>;
  get(runId: string): Promise<StoredRun | undefined>;
  list(query?: RunQuery): Promise<StoredRun[]>;
  /** Frees clients and handles; the store is unusable afterwards. */
  close(): Promise<void>;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;
export const DEFAULT_RUNS_COLLECTION = 'nbtrigger_runs';

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Throws unless `runId` is safe as a file name and a Firestore document id. */
export function assertRunId(runId: unknown): asserts runId is string {
  if (typeof runId !== 'string' || !RUN_ID.test(runId) || runId.includes('..')) {
    throw new TypeError(`invalid runId ${JSON.stringify(runId)}: use 1-128 of [A-Za-z0-9_.-], starting alphanumeric`);
  }
}

/** Notebook path without leading `/` and without `.ipynb`: `reports/daily`. */
export function notebookPath(notebook: string): string {
  return notebook.replace(/^\/+/, '').replace(/\.ipynb$/i, '');
}

/** Base name without `.ipynb`: `daily`. */
export function notebookName(notebook: string): string {
  const p = notebookPath(notebook);
  return p.slice(p.lastIndexOf('/') + 1);
}

/** The folder a notebook's records go in locally (its base name, made file-name safe; `_unknown` for null). */
export function notebookFolder(notebook: string | null): string {
  if (!notebook) return '_unknown';
  const name = notebookName(notebook)
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/^\.+/, '_');
  return /[A-Za-z0-9]/.test(name) ? name.slice(0, 100) : '_unknown';
}

/** A sortable, file-name safe stamp of `startedAt`: `2026-01-21T23-49-30.123Z` (24 characters). */
export function stampOf(startedAt: string): string {
  const d = new Date(startedAt);
  if (Number.isNaN(d.getTime())) throw new TypeError(`invalid startedAt ${JSON.stringify(startedAt)}`);
  return d.toISOString().replace(/:/g, '-');
}

/** Inverse of `stampOf` (ISO string), or undefined when `stamp` is not one. */
export function parseStamp(stamp: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T)(\d{2})-(\d{2})-(\d{2}\.\d{3}Z)$/.exec(stamp);
  return m ? `${m[1]}${m[2]}:${m[3]}:${m[4]}` : undefined;
}

/**
 * The file stem of a run: `{stamp}-{runId}`. The default notebook output
 * (`runs/{notebook}/{date}-{runId}.ipynb`) should use the same stem so the record sits beside it.
 */
export function runStem(startedAt: string, runId: string): string {
  assertRunId(runId);
  return `${stampOf(startedAt)}-${runId}`;
}

/** Parses a record file name `{stamp}-{runId}.json`. */
export function parseRecordFileName(name: string): { startedAt: string; runId: string } | undefined {
  if (!name.endsWith('.json') || name.length < 24 + 1 + 1 + 5) return undefined;
  const startedAt = parseStamp(name.slice(0, 24));
  if (!startedAt || name[24] !== '-') return undefined;
  const runId = name.slice(25, -5);
  return RUN_ID.test(runId) ? { startedAt, runId } : undefined;
}

/** A query with defaults applied, bounds as ISO strings, statuses as a list. */
export interface NormalizedQuery {
  notebook?: { field: 'notebookPath' | 'notebookName'; value: string };
  statuses?: RunStatus[];
  since?: string;
  until?: string;
  limit: number;
}

function iso(v: Date | string, what: string): string {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) throw new TypeError(`invalid ${what}: ${String(v)}`);
  return d.toISOString();
}

/** Validates and normalises a query. */
export function normalizeQuery(q: RunQuery = {}): NormalizedQuery {
  const out: NormalizedQuery = { limit: DEFAULT_LIMIT };
  if (q.limit !== undefined) {
    if (!Number.isInteger(q.limit) || q.limit < 1) throw new TypeError(`invalid limit ${q.limit}`);
    out.limit = Math.min(q.limit, MAX_LIMIT);
  }
  if (q.notebook !== undefined && q.notebook !== '') {
    out.notebook = q.notebook.includes('/')
      ? { field: 'notebookPath', value: notebookPath(q.notebook) }
      : { field: 'notebookName', value: notebookName(q.notebook) };
  }
  if (q.status !== undefined) {
    const list = [...new Set(Array.isArray(q.status) ? q.status : [q.status])];
    if (list.length === 0) throw new TypeError('status filter is empty');
    // Firestore's `in` takes at most 30 values; there are four statuses.
    out.statuses = list;
  }
  if (q.since !== undefined) out.since = iso(q.since, 'since');
  if (q.until !== undefined) out.until = iso(q.until, 'until');
  return out;
}

/** True when `startedAt` (ISO) lies in the query's time range. */
export function inTimeRange(startedAt: string, q: NormalizedQuery): boolean {
  const d = new Date(startedAt);
  // A record with a broken time (anyone who can write the store can write one) matches only an
  // unbounded query, so that the reader's validation sees it, says so and skips it.
  if (Number.isNaN(d.getTime())) return q.since === undefined && q.until === undefined;
  const t = d.toISOString();
  return (q.since === undefined || t >= q.since) && (q.until === undefined || t < q.until);
}

/** True when a record matches every filter of the query. */
export function matchesQuery(run: StoredRun, q: NormalizedQuery): boolean {
  if (q.notebook) {
    if (typeof run.notebook !== 'string') return false;
    const v = q.notebook.field === 'notebookPath' ? notebookPath(run.notebook) : notebookName(run.notebook);
    if (v !== q.notebook.value) return false;
  }
  if (q.statuses && !q.statuses.includes(run.status)) return false;
  return inTimeRange(run.startedAt, q);
}

/** Newest first: startedAt desc, then runId desc (a total order, so pages are stable). */
export function compareNewestFirst(
  a: { startedAt: string; runId: string },
  b: { startedAt: string; runId: string },
): number {
  const ta = new Date(a.startedAt).getTime();
  const tb = new Date(b.startedAt).getTime();
  if (ta !== tb) return tb - ta;
  return a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0;
}

/** Which store to open. */
export type RunStoreConfig =
  | { kind: 'local'; root: string }
  | { kind: 'firestore'; collection?: string; projectId?: string; databaseId?: string; emulatorHost?: string };
