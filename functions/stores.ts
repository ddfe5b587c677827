/**
 * The function's stores, opened once per process and configuration and reused by every
 * invocation (a Firestore client is expensive to create; local stores are cheap). Store
 * clients are imported only when a store of that kind is used.
 *
 * Spec: docs/function.md (run records in Firestore / beside the notebook), docs/function.md (dedupe leases).
 * @module
 */
import { join } from 'node:path';
import type { StateConfig } from './config.js';
import { NbtError } from './errors.js';
import { openLeaseStore, type LeaseStore } from './store/leases-store.js';
import { openRunStore, type RunStore } from './store/runs-store.js';

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
    p = open(state);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  try {
    return await p;
  } catch (e) {
    throw new NbtError('STORE_UNAVAILABLE', `run store unavailable: ${(e as Error).message}`, { cause: e });
  }
}

async function open(state: Exclude<StateConfig, { kind: 'none' }>): Promise<Stores> {
  if (state.kind === 'local') {
    const [runs, leases] = await Promise.all([openRunStore({ kind: 'local', root: state.root }), openLeaseStore({ kind: 'local', root: join(state.root, '.leases') })]);
    return { runs, leases };
  }
  const [runs, leases] = await Promise.all([
    openRunStore({ kind: 'firestore', ...(state.runsCollection ? { collection: state.runsCollection } : {}) }),
    openLeaseStore({ kind: 'firestore', ...(state.leasesCollection ? { collection: state.leasesCollection } : {}) }),
  ]);
  return { runs, leases };
}

/** Closes every cached store (tests, shutdown). */
export async function closeStores(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  await Promise.all(all.map(async (p) => {
    const s = await p.catch(() => undefined);
    await Promise.all([s?.runs.close(), s?.leases.close()]);
  }));
}
