/**
 * Local run history: one JSON file per run, `{root}/{notebook}/{stamp}-{runId}.json`, beside the
 * default notebook output `runs/{notebook}/{date}-{runId}.ipynb`. Writes are atomic (temp file in
 * the same folder, fsync, rename), so a reader never sees half a record. Listing scans folder
 * names only, filters by notebook and time from the file names, and reads just the files it needs
 * (newest first) until the limit is met: thousands of runs list in milliseconds.
 *
 * Spec: docs/function.md; pure rules in ./runs-store.ts.
 * @module
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import {
  assertRunId,
  compareNewestFirst,
  inTimeRange,
  matchesQuery,
  normalizeQuery,
  notebookFolder,
  parseRecordFileName,
  runStem,
  type RunQuery,
  type RunRef,
  type RunStore,
  type StoredRun,
} from './runs-store.js';

export interface LocalRunStoreOptions {
  /** The runs folder (the local output root). Created on first save. */
  root: string;
  /** Called for a record file that cannot be read or parsed; it is skipped. */
  onUnreadable?: (path: string, error: unknown) => void;
}

interface Candidate {
  startedAt: string;
  runId: string;
  path: string;
}

async function listDir(dir: string, dirs: boolean): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => !e.name.startsWith('.') && (dirs ? e.isDirectory() : e.isFile())).map((e) => e.name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** The local-file `RunStore`. */
export class LocalRunStore implements RunStore {
  readonly root: string;
  readonly #onUnreadable: (path: string, error: unknown) => void;

  constructor(opts: LocalRunStoreOptions) {
    this.root = opts.root;
    this.#onUnreadable = opts.onUnreadable ?? (() => {});
  }

  /** The file a run's record goes to. */
  pathFor(run: Pick<StoredRun, 'notebook' | 'startedAt' | 'runId'>): string {
    return join(this.root, notebookFolder(run.notebook), `${runStem(run.startedAt, run.runId)}.json`);
  }

  async save(run: StoredRun): Promise<RunRef> {
    assertRunId(run.runId);
    const dir = join(this.root, notebookFolder(run.notebook));
    const name = `${runStem(run.startedAt, run.runId)}.json`;
    await mkdir(dir, { recursive: true });
    const path = join(dir, name);
    await writeFileAtomic(path, `${JSON.stringify(run, null, 2)}\n`);
    return { runId: run.runId, location: path };
  }

  async get(runId: string): Promise<StoredRun | undefined> {
    assertRunId(runId);
    const suffix = `-${runId}.json`;
    const found: Candidate[] = [];
    for (const folder of await listDir(this.root, true)) {
      for (const name of await listDir(join(this.root, folder), false)) {
        if (!name.endsWith(suffix)) continue;
        const parsed = parseRecordFileName(name);
        if (parsed?.runId === runId) found.push({ ...parsed, path: join(this.root, folder, name) });
      }
    }
    found.sort(compareNewestFirst);
    for (const c of found) {
      const run = await this.#read(c.path);
      if (run) return run;
    }
    return undefined;
  }

  async list(query: RunQuery = {}): Promise<StoredRun[]> {
    const q = normalizeQuery(query);
    const folders = q.notebook ? [notebookFolder(q.notebook.value)] : await listDir(this.root, true);
    const candidates: Candidate[] = [];
    for (const folder of folders) {
      for (const name of await listDir(join(this.root, folder), false)) {
        const parsed = parseRecordFileName(name);
        if (parsed && inTimeRange(parsed.startedAt, q))
          candidates.push({ ...parsed, path: join(this.root, folder, name) });
      }
    }
    candidates.sort(compareNewestFirst);
    const out: StoredRun[] = [];
    // Read in small parallel batches, newest first, until the limit is met.
    const batch = Math.min(64, Math.max(8, q.limit));
    for (let i = 0; i < candidates.length && out.length < q.limit; i += batch) {
      const runs = await Promise.all(candidates.slice(i, i + batch).map((c) => this.#read(c.path)));
      for (const run of runs) {
        if (run && matchesQuery(run, q)) out.push(run);
        if (out.length === q.limit) break;
      }
    }
    return out;
  }

  async close(): Promise<void> {}

  async #read(path: string): Promise<StoredRun | undefined> {
    try {
      const run = JSON.parse(await readFile(path, 'utf8')) as StoredRun;
      if (
        typeof run !== 'object' ||
        run === null ||
        typeof run.runId !== 'string' ||
        typeof run.startedAt !== 'string'
      ) {
        throw new Error('not a run record');
      }
      return run;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.#onUnreadable(path, e);
      return undefined;
    }
  }
}
