/**
 * Firestore run history: one document per run in a collection (default `nbtrigger_runs`), id =
 * runId. Queryable fields live at the top level (notebookPath, notebookName, status, startedAt as a
 * Timestamp, …); the full record is kept as one JSON string (`record`), which sidesteps Firestore's
 * limits on nested arrays and odd map keys in outputs and parameters. Documents are capped below
 * Firestore's 1 MiB limit by dropping the last result, then the traceback (with a warning).
 *
 * Queries filter by notebook (==), status (== / in) and a startedAt range, ordered by startedAt desc
 * (ties: document id desc, Firestore's implicit order). Production needs the composite indexes in
 * infra/firestore.indexes.json (`requiredIndex` names the one a query uses); the emulator needs none.
 *
 * Spec: docs/function.md; https://cloud.google.com/firestore/docs/query-data/queries,
 * https://cloud.google.com/firestore/quotas (1 MiB document),
 * https://firebase.google.com/docs/reference/firestore/indexes.
 * @module
 */
import type { CollectionReference, Firestore, Query } from '@google-cloud/firestore';
import { createFirestore, loadFirestoreModule, type FirestoreConnection } from './firestore-client.js';
import {
  assertRunId,
  DEFAULT_RUNS_COLLECTION,
  normalizeQuery,
  notebookName,
  notebookPath,
  type NormalizedQuery,
  type RunQuery,
  type RunRef,
  type RunStore,
  type StoredRun,
} from './runs-store.js';

/** Firestore's document limit is 1 MiB; keep the record string well below it. */
const MAX_RECORD_BYTES = 900_000;

export interface FirestoreRunStoreOptions extends FirestoreConnection {
  /** Collection id; default `nbtrigger_runs`. */
  collection?: string;
  /** A client to share (for example with the lease store); not terminated by `close`. */
  db?: Firestore;
}

/** A composite index as written in firestore.indexes.json. */
export interface IndexSpec {
  collectionGroup: string;
  queryScope: 'COLLECTION';
  fields: { fieldPath: string; order: 'ASCENDING' | 'DESCENDING' }[];
}

/**
 * The composite index a query needs in production, or undefined when single-field indexes suffice
 * (no equality filter: startedAt alone, ordered and ranged on the same field).
 */
export function requiredIndex(q: NormalizedQuery, collection = DEFAULT_RUNS_COLLECTION): IndexSpec | undefined {
  const eq: string[] = [];
  if (q.notebook) eq.push(q.notebook.field);
  if (q.statuses) eq.push('status');
  if (eq.length === 0) return undefined;
  return {
    collectionGroup: collection,
    queryScope: 'COLLECTION',
    fields: [
      ...eq.map((fieldPath) => ({ fieldPath, order: 'ASCENDING' as const })),
      { fieldPath: 'startedAt', order: 'DESCENDING' },
    ],
  };
}

/** Shrinks a run to fit `maxBytes` as JSON: drops lastResult, then the traceback, each with a warning. */
export function fitRun(run: StoredRun, maxBytes = MAX_RECORD_BYTES): { run: StoredRun; json: string } {
  let r = run;
  let json = JSON.stringify(r);
  if (Buffer.byteLength(json) > maxBytes && r.lastResult !== undefined) {
    const { lastResult: _dropped, ...rest } = r;
    r = { ...rest, warnings: [...r.warnings, 'lastResult dropped: record too large for Firestore'] };
    json = JSON.stringify(r);
  }
  if (Buffer.byteLength(json) > maxBytes && r.error?.traceback !== undefined) {
    const { traceback: _dropped, ...error } = r.error;
    r = { ...r, error, warnings: [...r.warnings, 'error traceback dropped: record too large for Firestore'] };
    json = JSON.stringify(r);
  }
  if (Buffer.byteLength(json) > maxBytes) {
    throw new RangeError(
      `run record ${run.runId} is ${Buffer.byteLength(json)} bytes, ` +
        `above ${maxBytes} even without lastResult and traceback`,
    );
  }
  return { run: r, json };
}

/** The `RunStore` on Firestore. */
export class FirestoreRunStore implements RunStore {
  readonly collectionId: string;
  readonly #opts: FirestoreRunStoreOptions;
  #db: Promise<Firestore> | undefined;

  constructor(opts: FirestoreRunStoreOptions = {}) {
    this.#opts = opts;
    this.collectionId = opts.collection ?? DEFAULT_RUNS_COLLECTION;
    if (opts.db) this.#db = Promise.resolve(opts.db);
  }

  async #collection(): Promise<CollectionReference> {
    this.#db ??= createFirestore(this.#opts);
    return (await this.#db).collection(this.collectionId);
  }

  async save(input: StoredRun): Promise<RunRef> {
    assertRunId(input.runId);
    const { Timestamp, FieldValue } = await loadFirestoreModule();
    const { run, json } = fitRun(input);
    const ref = (await this.#collection()).doc(run.runId);
    await ref.set({
      runId: run.runId,
      notebook: run.notebook,
      notebookPath: run.notebook === null ? null : notebookPath(run.notebook),
      notebookName: run.notebook === null ? null : notebookName(run.notebook),
      status: run.status,
      startedAt: Timestamp.fromDate(new Date(run.startedAt)),
      durationMs: run.durationMs,
      server: run.server,
      kernelName: run.kernelName,
      messageId: run.messageId ?? null,
      schedule: run.schedule ?? null,
      errorCode: run.error?.code ?? null,
      failedCell: run.error?.cellIndex ?? null,
      cells: run.cells,
      outputs: run.outputs ?? {},
      record: json,
      savedAt: FieldValue.serverTimestamp(),
    });
    return { runId: run.runId, location: ref.path };
  }

  async get(runId: string): Promise<StoredRun | undefined> {
    assertRunId(runId);
    const snap = await (await this.#collection()).doc(runId).get();
    return snap.exists ? parseRecord(snap.get('record')) : undefined;
  }

  async list(query: RunQuery = {}): Promise<StoredRun[]> {
    const q = normalizeQuery(query);
    const { Timestamp } = await loadFirestoreModule();
    let fq: Query = await this.#collection();
    if (q.notebook) fq = fq.where(q.notebook.field, '==', q.notebook.value);
    if (q.statuses)
      fq = q.statuses.length === 1 ? fq.where('status', '==', q.statuses[0]) : fq.where('status', 'in', q.statuses);
    if (q.since !== undefined) fq = fq.where('startedAt', '>=', Timestamp.fromDate(new Date(q.since)));
    if (q.until !== undefined) fq = fq.where('startedAt', '<', Timestamp.fromDate(new Date(q.until)));
    const snap = await fq.orderBy('startedAt', 'desc').limit(q.limit).get();
    const out: StoredRun[] = [];
    for (const d of snap.docs) {
      const run = parseRecord(d.get('record'));
      if (run) out.push(run);
    }
    return out;
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    if (db && !this.#opts.db) await (await db).terminate();
  }
}

function parseRecord(v: unknown): StoredRun | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    return JSON.parse(v) as StoredRun;
  } catch {
    return undefined;
  }
}
