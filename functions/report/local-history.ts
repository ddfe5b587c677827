/**
 * Reads run records from a local output root: every `*.json` file (a few levels deep) that parses as
 * a run record, whatever the folder layout. A stand-in for the local run store's `list` until the
 * two are connected; it satisfies {@link RunLister}. Unreadable or foreign JSON files are skipped.
 *
 * Spec: issue 3 "Run records and history" (`nbtrigger runs --output-root DIR`).
 * @module
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isRunRecord, selectRuns, type HistoryQuery, type HistoryRun, type RunLister } from './history.js';

export interface LocalHistoryOptions {
  /** Folder levels below the root that are searched (default 4: `runs/<notebook>/<file>.json` fits). */
  maxDepth?: number;
  /** Files larger than this are not records (default 5 MB). */
  maxFileBytes?: number;
  /** Stop after this many JSON files (default 50 000). */
  maxFiles?: number;
}

/** Lists run records found under `root`. */
export class LocalHistory implements RunLister {
  constructor(readonly root: string, private readonly opts: LocalHistoryOptions = {}) {}

  async list(query: HistoryQuery = {}): Promise<HistoryRun[]> {
    const files: string[] = [];
    await this.walk(this.root, 0, files);
    const runs: HistoryRun[] = [];
    for (const f of files) {
      try {
        const s = await stat(f);
        if (s.size > (this.opts.maxFileBytes ?? 5 * 1024 * 1024)) continue;
        const v: unknown = JSON.parse(await readFile(f, 'utf8'));
        if (isRunRecord(v)) runs.push(v);
      } catch {
        /* unreadable or not JSON: not a record */
      }
    }
    return selectRuns(runs, query);
  }

  private async walk(dir: string, depth: number, out: string[]): Promise<void> {
    if (out.length >= (this.opts.maxFiles ?? 50_000)) return;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (depth === 0) throw e; // a missing root is the caller's error
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = join(dir, e.name);
      if (e.isDirectory() && depth < (this.opts.maxDepth ?? 4)) await this.walk(p, depth + 1, out);
      else if (e.isFile() && e.name.endsWith('.json')) out.push(p);
    }
  }
}
