/**
 * Local lease store: a folder per key (`{root}/{leaseId}/`) holding generation files
 * `g000000000.json`, `g000000001.json`, … and, once finished, `done.json`.
 *
 * - A claim creates the next generation with `link(tmp, gN)`: the file appears complete or not at
 *   all, and exactly one process wins each generation (EEXIST for the others), across processes.
 * - The newest generation is the lease; its `expiresAt` is checked on read. An expired one (the
 *   holder crashed) is taken over by creating generation N+1, so two processes that both see it
 *   expired still produce one winner; older generations are then removed.
 * - `complete` writes `done.json` (temp + rename) before removing its generation, and a claim
 *   re-checks `done.json` after winning, so a finished key is never run again.
 *
 * Spec: docs/function.md (local mode: atomic create), "No overlap".
 * @module
 */
import { link, mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NbtError } from '../errors.js';
import { tempPathBeside, writeFileAtomic } from '../atomic-write.js';
import {
  assertTtl,
  leaseId,
  lockWith,
  newHolderId,
  newToken,
  viewLease,
  type ClaimResult,
  type LeaseStore,
  type LockOptions,
  type LockResult,
  type LeaseView,
} from './leases-store.js';

export interface LocalLeaseStoreOptions {
  /** The leases folder. Created on first claim. */
  root: string;
  holder?: string;
  /** Clock (tests). */
  now?: () => number;
}

interface LeaseFile {
  key: string;
  state: 'running';
  token: string;
  holder: string;
  acquiredAt: string;
  expiresAt: string;
}

interface DoneFile {
  key: string;
  state: 'done';
  recordRef: string | null;
  completedAt: string;
  holder: string;
}

const GEN = /^g(\d{9})\.json$/;
const MAX_ATTEMPTS = 50;

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** The local-file `LeaseStore`. */
export class LocalLeaseStore implements LeaseStore {
  readonly root: string;
  readonly holder: string;
  readonly #now: () => number;
  /** Tokens of the leases this instance claimed, for complete/release/renew without a token. */
  readonly #mine = new Map<string, string>();

  constructor(opts: LocalLeaseStoreOptions) {
    this.root = opts.root;
    this.holder = opts.holder ?? newHolderId();
    this.#now = opts.now ?? Date.now;
  }

  #dir(key: string): string {
    return join(this.root, leaseId(key));
  }

  async #generations(dir: string): Promise<number[]> {
    try {
      return (await readdir(dir))
        .map((n) => GEN.exec(n)?.[1])
        .filter((g): g is string => g !== undefined)
        .map(Number)
        .sort((a, b) => a - b);
    } catch (e) {
      if (errno(e) === 'ENOENT') return [];
      throw e;
    }
  }

  #done(dir: string): Promise<DoneFile | undefined> {
    return readJson<DoneFile>(join(dir, 'done.json'));
  }

  #doneResult(key: string, d: DoneFile): ClaimResult {
    return { state: 'done', key, recordRef: d.recordRef, completedAt: d.completedAt };
  }

  /** Creates generation `gen` holding `lease`, atomically and exclusively; false when it already exists. */
  async #create(dir: string, gen: number, lease: LeaseFile): Promise<boolean> {
    const tmp = tempPathBeside(join(dir, genName(gen)));
    try {
      await writeFile(tmp, JSON.stringify(lease), { flag: 'wx' });
      await link(tmp, join(dir, genName(gen)));
      return true;
    } catch (e) {
      if (errno(e) === 'EEXIST') return false;
      // The key's folder was pruned meanwhile: recreate it and let the caller look again.
      if (errno(e) === 'ENOENT') {
        await mkdir(dir, { recursive: true });
        return false;
      }
      throw e;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async claim(key: string, ttlMs: number): Promise<ClaimResult> {
    assertTtl(ttlMs);
    const dir = this.#dir(key);
    await mkdir(dir, { recursive: true });
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const done = await this.#done(dir);
      if (done) return this.#doneResult(key, done);
      const gens = await this.#generations(dir);
      const top = gens.at(-1);
      let next = 0;
      if (top !== undefined) {
        const cur = await readJson<LeaseFile>(join(dir, genName(top)));
        if (!cur) continue; // released or cleaned up meanwhile: look again
        const view = viewLease({ state: 'running', expiresAtMs: Date.parse(cur.expiresAt) }, this.#now());
        if (view === 'live') return { state: 'running', key, holder: cur.holder, expiresAt: cur.expiresAt };
        next = top + 1;
      }
      const now = this.#now();
      const lease: LeaseFile = {
        key,
        state: 'running',
        token: newToken(),
        holder: this.holder,
        acquiredAt: new Date(now).toISOString(),
        expiresAt: new Date(now + ttlMs).toISOString(),
      };
      if (!(await this.#create(dir, next, lease))) continue; // another claimer won this generation
      // A holder may have completed between our first look and our create.
      const doneAfter = await this.#done(dir);
      if (doneAfter) {
        await rm(join(dir, genName(next)), { force: true });
        return this.#doneResult(key, doneAfter);
      }
      for (const g of gens) if (g < next) await rm(join(dir, genName(g)), { force: true });
      this.#mine.set(key, lease.token);
      return { state: 'claimed', key, token: lease.token, expiresAt: lease.expiresAt };
    }
    throw new NbtError('INTERNAL', `lease ${key}: no stable state after ${MAX_ATTEMPTS} attempts`, { retryable: true });
  }

  async peek(key: string): Promise<LeaseView> {
    const dir = this.#dir(key);
    if (await this.#done(dir)) return 'done';
    const top = (await this.#generations(dir)).at(-1);
    const cur = top === undefined ? undefined : await readJson<LeaseFile>(join(dir, genName(top)));
    return cur ? viewLease({ state: 'running', expiresAtMs: Date.parse(cur.expiresAt) }, this.#now()) : 'free';
  }

  /** Finds the generation holding `token`, newest first. */
  async #own(dir: string, token: string): Promise<{ gen: number; lease: LeaseFile; newest: boolean } | undefined> {
    const gens = await this.#generations(dir);
    for (let i = gens.length - 1; i >= 0; i--) {
      const lease = await readJson<LeaseFile>(join(dir, genName(gens[i]!)));
      if (lease?.token === token) return { gen: gens[i]!, lease, newest: i === gens.length - 1 };
    }
    return undefined;
  }

  async renew(key: string, ttlMs: number, token = this.#mine.get(key)): Promise<boolean> {
    assertTtl(ttlMs);
    if (!token) return false;
    const dir = this.#dir(key);
    const own = await this.#own(dir, token);
    if (!own?.newest || (await this.#done(dir))) return false;
    const lease: LeaseFile = { ...own.lease, expiresAt: new Date(this.#now() + ttlMs).toISOString() };
    await writeFileAtomic(join(dir, genName(own.gen)), JSON.stringify(lease));
    // A takeover between our read and our write shows up as a newer generation.
    return (await this.#generations(dir)).at(-1) === own.gen;
  }

  async complete(key: string, recordRef: string | null, token = this.#mine.get(key)): Promise<void> {
    const dir = this.#dir(key);
    await mkdir(dir, { recursive: true });
    const done: DoneFile = {
      key,
      state: 'done',
      recordRef,
      completedAt: new Date(this.#now()).toISOString(),
      holder: this.holder,
    };
    await writeFileAtomic(join(dir, 'done.json'), JSON.stringify(done));
    if (token) {
      const own = await this.#own(dir, token);
      if (own) await rm(join(dir, genName(own.gen)), { force: true });
    }
    this.#mine.delete(key);
  }

  async release(key: string, token = this.#mine.get(key)): Promise<boolean> {
    if (!token) return false;
    const dir = this.#dir(key);
    const own = await this.#own(dir, token);
    if (this.#mine.get(key) === token) this.#mine.delete(key);
    if (!own) return false;
    try {
      await unlink(join(dir, genName(own.gen)));
      return true;
    } catch (e) {
      if (errno(e) === 'ENOENT') return false;
      throw e;
    }
  }

  lock(schedule: string, options: LockOptions): Promise<LockResult> {
    return lockWith(this, schedule, options, this.#now);
  }

  /**
   * Removes the folders of keys done more than `olderThanMs` ago, and empty ones (released keys).
   * Pub/Sub keeps a message at most 7 days, so done markers older than that can go. Answers the count.
   */
  async prune(olderThanMs: number): Promise<number> {
    let removed = 0;
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (e) {
      if (errno(e) === 'ENOENT') return 0;
      throw e;
    }
    const now = this.#now();
    for (const name of names) {
      const dir = join(this.root, name);
      const done = await this.#done(dir).catch(() => undefined);
      if (
        done
          ? now - Date.parse(done.completedAt) > olderThanMs
          : (await this.#generations(dir).catch(() => [0])).length === 0
      ) {
        await rm(dir, { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }

  async close(): Promise<void> {}
}

function genName(gen: number): string {
  return `g${String(gen).padStart(9, '0')}.json`;
}
