/**
 * Opening the stores: `openRunStore` and `openLeaseStore` pick an implementation (local files or
 * Firestore) and import it on first use, so a process using the local stores never loads the
 * Firestore client; `storesFor` opens the function's pair once per process and configuration and
 * reuses it for every invocation (a Firestore client is expensive to create).
 *
 * Spec: docs/function.md (run records in Firestore / beside the notebook, dedupe leases).
 * @module
 */
import { join } from 'node:path';
import type { StateConfig } from '../config.js';
import { NbtError } from '../errors.js';
import type { LeaseStore } from './leases-store.js';
import type { RunStore, RunStoreConfig } from './runs-store.js';

/** Opens a run store; the Firestore client is imported only for `kind: 'firestore'`. */
export async function openRunStore(config: RunStoreConfig): Promise<RunStore> {
  if (config.kind === 'local') return new (await import('./runs-local.js')).LocalRunStore({ root: config.root });
  return new (await import('./runs-firestore.js')).FirestoreRunStore(config);
}

/** Opens a lease store (the same choice as for run records); Firestore is imported only for `kind: 'firestore'`. */
export async function openLeaseStore(config: RunStoreConfig): Promise<LeaseStore> {
  if (config.kind === 'local') return new (await import('./leases-local.js')).LocalLeaseStore({ root: config.root });
  return new (await import('./leases-firestore.js')).FirestoreLeaseStore(config);
}

/** The function's run and lease stores. */
export interface Stores {
  runs: RunStore;
  leases: LeaseStore;
}

const cache = new Map<string, Promise<Stores>>();

/** The stores for a configuration (none for `kind: 'none'`). A store that cannot open is a retryable error. */
export async function storesFor(state: StateConfig): Promise<Stores | undefined> {
  if (state.kind === 'none') return undefined;
  const key = JSON.stringify(state);
  let p = cache.get(key);
  if (!p) {
    p = openBoth(state);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  try {
    return await p;
  } catch (e) {
    throw new NbtError('STORE_UNAVAILABLE', `run store unavailable: ${(e as Error).message}`, { cause: e });
  }
}

async function openBoth(state: Exclude<StateConfig, { kind: 'none' }>): Promise<Stores> {
  if (state.kind === 'local') {
    const [runs, leases] = await Promise.all([
      openRunStore({ kind: 'local', root: state.root }),
      openLeaseStore({ kind: 'local', root: join(state.root, '.leases') }),
    ]);
    return { runs, leases };
  }
  const [runs, leases] = await Promise.all([
    openRunStore({ kind: 'firestore', ...(state.runsCollection ? { collection: state.runsCollection } : {}) }),
    openLeaseStore({ kind: 'firestore', ...(state.leasesCollection ? { collection: state.leasesCollection } : {}) }),
  ]);
  return { runs, leases };
}
