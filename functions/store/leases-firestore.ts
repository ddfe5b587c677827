/**
 * Firestore lease store: one document per key (id = `leaseId(key)`) in a collection (default
 * `nbtrigger_leases`).
 *
 * - A claim is `create()`, which fails with ALREADY_EXISTS when the document exists: exactly one of
 *   many concurrent claimers wins, with no transaction (contended transactions are slow).
 * - Losers read the document. Expiry uses server time only: a lease is live while the read time is
 *   before its last update time + `ttlMs`, so skewed clocks across instances do not matter.
 * - An expired lease (its holder crashed) is taken over by an update with a `lastUpdateTime`
 *   precondition: it applies only if the document is still the expired lease we read (the
 *   compare-and-set a transaction would do, without its locks: with 20 contenders the emulator
 *   took ≈3.6 s through transactions).
 * - `release` and `renew` use a `lastUpdateTime` precondition (only the token's owner, only if
 *   unchanged). `complete` replaces the document with a `done` one.
 * - `expireAt` (a Timestamp) is for a Firestore TTL policy (infra/firestore.indexes.json) to delete
 *   old documents; `retentionMs` after completion (default 8 days, above Pub/Sub's 7-day retention).
 *
 * Spec: docs/function.md, "No overlap";
 * https://cloud.google.com/firestore/docs/manage-data/transactions (preconditions),
 * https://cloud.google.com/firestore/docs/ttl.
 * @module
 */
import type { DocumentReference, DocumentSnapshot, Firestore } from '@google-cloud/firestore';
import { NbtError } from '../errors.js';
import {
  createFirestore,
  grpcCode,
  GrpcCode,
  loadFirestoreModule,
  type FirestoreConnection,
} from './firestore-client.js';
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

export const DEFAULT_LEASES_COLLECTION = 'nbtrigger_leases';
const DEFAULT_RETENTION_MS = 8 * 24 * 3600 * 1000;
const MAX_ATTEMPTS = 20;

export interface FirestoreLeaseStoreOptions extends FirestoreConnection {
  collection?: string;
  /** A client to share (for example with the run store); not terminated by `close`. */
  db?: Firestore;
  holder?: string;
  /** How long a done marker is kept (TTL policy field `expireAt`); default 8 days. */
  retentionMs?: number;
}

/** The server-time view of a lease document (pure, given its snapshot fields). */
function viewSnapshot(s: { exists: boolean; state?: unknown; ttlMs?: unknown; updateMs?: number; readMs: number }) {
  if (!s.exists) return viewLease(undefined, s.readMs);
  if (s.state === 'done') return viewLease({ state: 'done', expiresAtMs: 0 }, s.readMs);
  const ttl = typeof s.ttlMs === 'number' ? s.ttlMs : 0;
  return viewLease({ state: 'running', expiresAtMs: (s.updateMs ?? 0) + ttl }, s.readMs);
}

function view(snap: DocumentSnapshot) {
  return viewSnapshot({
    exists: snap.exists,
    state: snap.get('state'),
    ttlMs: snap.get('ttlMs'),
    updateMs: snap.updateTime?.toMillis(),
    readMs: snap.readTime.toMillis(),
  });
}

/** The Firestore `LeaseStore`. */
export class FirestoreLeaseStore implements LeaseStore {
  readonly holder: string;
  readonly collectionId: string;
  readonly #opts: FirestoreLeaseStoreOptions;
  readonly #retentionMs: number;
  readonly #mine = new Map<string, string>();
  #db: Promise<Firestore> | undefined;

  constructor(opts: FirestoreLeaseStoreOptions = {}) {
    this.#opts = opts;
    this.holder = opts.holder ?? newHolderId();
    this.collectionId = opts.collection ?? DEFAULT_LEASES_COLLECTION;
    this.#retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    if (opts.db) this.#db = Promise.resolve(opts.db);
  }

  async #ref(key: string): Promise<DocumentReference> {
    this.#db ??= createFirestore(this.#opts);
    return (await this.#db).collection(this.collectionId).doc(leaseId(key));
  }

  async #leaseDoc(key: string, token: string, ttlMs: number) {
    const { FieldValue, Timestamp } = await loadFirestoreModule();
    const now = Date.now();
    return {
      key,
      state: 'running',
      token,
      holder: this.holder,
      ttlMs,
      acquiredAt: FieldValue.serverTimestamp(),
      // For people and the TTL policy; liveness itself is decided on server time (updateTime + ttlMs).
      expiresAt: Timestamp.fromMillis(now + ttlMs),
      expireAt: Timestamp.fromMillis(now + ttlMs + this.#retentionMs),
    };
  }

  #seen(key: string, snap: DocumentSnapshot): ClaimResult {
    if (snap.get('state') === 'done') {
      return {
        state: 'done',
        key,
        recordRef: snap.get('recordRef') ?? null,
        completedAt: tsIso(snap.get('completedAt')),
      };
    }
    const expiresMs = (snap.updateTime?.toMillis() ?? 0) + Number(snap.get('ttlMs') ?? 0);
    return {
      state: 'running',
      key,
      holder: String(snap.get('holder') ?? ''),
      expiresAt: new Date(expiresMs).toISOString(),
    };
  }

  #claimed(key: string, token: string, ttlMs: number): ClaimResult {
    this.#mine.set(key, token);
    return { state: 'claimed', key, token, expiresAt: new Date(Date.now() + ttlMs).toISOString() };
  }

  async claim(key: string, ttlMs: number): Promise<ClaimResult> {
    assertTtl(ttlMs);
    const ref = await this.#ref(key);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const token = newToken();
      try {
        await ref.create(await this.#leaseDoc(key, token, ttlMs));
        return this.#claimed(key, token, ttlMs);
      } catch (e) {
        if (grpcCode(e) !== GrpcCode.ALREADY_EXISTS) throw e;
      }
      const snap = await ref.get();
      const v = view(snap);
      if (v === 'free') continue; // deleted since our create: try again
      if (v !== 'expired') return this.#seen(key, snap);
      // Take over the expired lease, unless someone else changed it first: an update with a
      // lastUpdateTime precondition is atomic like a transaction, but takes no locks, so 20
      // concurrent takeovers settle in one round trip each instead of queueing on the document.
      try {
        await ref.update(await this.#leaseDoc(key, token, ttlMs), { lastUpdateTime: snap.updateTime! });
        return this.#claimed(key, token, ttlMs);
      } catch (e) {
        const code = grpcCode(e);
        if (code !== GrpcCode.FAILED_PRECONDITION && code !== GrpcCode.NOT_FOUND) throw e;
      }
    }
    throw new NbtError('INTERNAL', `lease ${key}: no stable state after ${MAX_ATTEMPTS} attempts`, { retryable: true });
  }

  /** Our running lease's snapshot, or undefined when the token does not hold it. */
  async #own(ref: DocumentReference, token: string | undefined): Promise<DocumentSnapshot | undefined> {
    if (!token) return undefined;
    const snap = await ref.get();
    return snap.exists && snap.get('state') === 'running' && snap.get('token') === token ? snap : undefined;
  }

  async peek(key: string): Promise<LeaseView> {
    return view(await (await this.#ref(key)).get());
  }

  async renew(key: string, ttlMs: number, token = this.#mine.get(key)): Promise<boolean> {
    assertTtl(ttlMs);
    const ref = await this.#ref(key);
    const snap = await this.#own(ref, token);
    if (!snap || view(snap) !== 'live') return false;
    const { Timestamp } = await loadFirestoreModule();
    const now = Date.now();
    try {
      await ref.update(
        {
          ttlMs,
          expiresAt: Timestamp.fromMillis(now + ttlMs),
          expireAt: Timestamp.fromMillis(now + ttlMs + this.#retentionMs),
        },
        { lastUpdateTime: snap.updateTime! },
      );
      return true;
    } catch (e) {
      if (grpcCode(e) === GrpcCode.FAILED_PRECONDITION) return false;
      throw e;
    }
  }

  async complete(key: string, recordRef: string | null, _token?: string): Promise<void> {
    const { FieldValue, Timestamp } = await loadFirestoreModule();
    const ref = await this.#ref(key);
    await ref.set({
      key,
      state: 'done',
      recordRef,
      holder: this.holder,
      completedAt: FieldValue.serverTimestamp(),
      expireAt: Timestamp.fromMillis(Date.now() + this.#retentionMs),
    });
    this.#mine.delete(key);
  }

  async release(key: string, token = this.#mine.get(key)): Promise<boolean> {
    const ref = await this.#ref(key);
    if (this.#mine.get(key) === token) this.#mine.delete(key);
    const snap = await this.#own(ref, token);
    if (!snap) return false;
    try {
      await ref.delete({ lastUpdateTime: snap.updateTime! });
      return true;
    } catch (e) {
      if (grpcCode(e) === GrpcCode.FAILED_PRECONDITION || grpcCode(e) === GrpcCode.NOT_FOUND) return false;
      throw e;
    }
  }

  lock(schedule: string, options: LockOptions): Promise<LockResult> {
    return lockWith(this, schedule, options);
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    if (db && !this.#opts.db) await (await db).terminate();
  }
}

function tsIso(v: unknown): string {
  const t = v as { toDate?: () => Date } | null | undefined;
  return typeof t?.toDate === 'function' ? t.toDate().toISOString() : new Date(0).toISOString();
}
