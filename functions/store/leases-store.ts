/**
 * Dedupe leases for an exactly-once effect, and the per-schedule overlap lock built on them: the
 * interface both lease stores implement (local files, Firestore) and the pure rules they share.
 *
 * A key (a Pub/Sub messageId or an explicit runKey) is `claimed` by one caller; while its lease is
 * live every other claim answers `running`; once `complete`d every claim answers `done` with the
 * record's ref; a lease whose holder crashed (expired, never completed) can be claimed again.
 * `release` gives a key back on a crash path without marking it done.
 *
 * Spec: docs/function.md and "No overlap" (concurrency skip|queue|allow).
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { NbtError } from '../errors.js';

/** What `claim` answers. */
export type ClaimResult =
  /** This caller holds the lease until `expiresAt` (renew for longer runs). */
  | { state: 'claimed'; key: string; token: string; expiresAt: string }
  /** Another live lease holds the key. */
  | { state: 'running'; key: string; holder: string; expiresAt: string }
  /** The key finished earlier; `recordRef` points at its run record. */
  | { state: 'done'; key: string; recordRef: string | null; completedAt: string };

/** The lease store. Implementations: `LocalLeaseStore`, `FirestoreLeaseStore`. */
export interface LeaseStore {
  /** Who this store claims as (host, pid, random): shown to other claimers as `holder`. */
  readonly holder: string;
  /** Claims `key` for `ttlMs` (see `ClaimResult`). Safe against concurrent callers and processes. */
  claim(key: string, ttlMs: number): Promise<ClaimResult>;
  /** Extends a lease this caller holds to now + `ttlMs`; false when it is no longer ours. */
  renew(key: string, ttlMs: number, token?: string): Promise<boolean>;
  /** Marks `key` done for good, pointing at the run record (unconditional: the effect happened). */
  complete(key: string, recordRef: string | null, token?: string): Promise<void>;
  /** Gives back a lease this caller holds (crash path); false when it was not ours any more. Never undoes `done`. */
  release(key: string, token?: string): Promise<boolean>;
  /** The state of `key` now, claiming nothing (`nbtrigger runs` tells a lost job run from a running one). */
  peek(key: string): Promise<LeaseView>;
  /** The per-schedule overlap lock (docs/function.md). */
  lock(schedule: string, options: LockOptions): Promise<LockResult>;
  close(): Promise<void>;
}

/** `concurrency` of a schedule; default `skip` for schedules. */
export type Concurrency = 'skip' | 'queue' | 'allow';

export interface LockOptions {
  mode: Concurrency;
  /** Lease length; renew it (or choose it above the run deadline). */
  ttlMs: number;
  /** `queue` only: give up after this long (take it from the run deadline). Default 60 s. */
  waitMs?: number;
  /** `queue` only: base poll interval (±20 % jitter), capped by the time left. Default 1 s. */
  pollMs?: number;
  signal?: AbortSignal;
}

export type LockResult =
  | { state: 'acquired'; key: string; release(): Promise<boolean>; renew(ttlMs: number): Promise<boolean> }
  /** `skip`: another run of the schedule holds the lock; record the skip. */
  | { state: 'skipped'; key: string; holder: string; expiresAt: string }
  /** `queue`: still held at the deadline. */
  | { state: 'timed_out'; key: string; holder: string; waitedMs: number };

/** The state a stored lease is in at a given time (pure). */
export type LeaseView = 'free' | 'live' | 'expired' | 'done';

/** Classifies a stored lease: `expiresAtMs` is compared with `nowMs` (same clock). */
export function viewLease(
  lease: { state: 'running' | 'done'; expiresAtMs: number } | undefined,
  nowMs: number,
): LeaseView {
  if (!lease) return 'free';
  if (lease.state === 'done') return 'done';
  return nowMs < lease.expiresAtMs ? 'live' : 'expired';
}

/** The dedupe key of a message: an explicit runKey wins over the Pub/Sub messageId. */
export function dedupeKey(m: { runKey?: string | undefined; messageId?: string | undefined }): string | undefined {
  if (m.runKey) return `run:${m.runKey}`;
  if (m.messageId) return `msg:${m.messageId}`;
  return undefined;
}

/** The lease key of a schedule's overlap lock (a separate namespace from dedupe keys). */
export function lockKey(schedule: string): string {
  return `lock:${schedule}`;
}

/**
 * A file name / Firestore document id for any key: a readable, sanitised prefix plus a SHA-256
 * digest (so distinct keys never collide, and no id contains `/`, starts with `.` or is `__x__`).
 */
export function leaseId(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('lease key must be a non-empty string');
  const readable = key
    .slice(0, 60)
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/^[._]+/, '');
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 32);
  return readable ? `${readable}-${digest}` : digest;
}

/** Checks a TTL (positive integer ms). */
export function assertTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new TypeError(`invalid lease ttlMs ${ttlMs}`);
}

/** A holder id: `host:pid:random`. Never holds a secret. */
export function newHolderId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** A lease token (fencing: only the token's owner may release or renew). */
export function newToken(): string {
  return randomBytes(12).toString('hex');
}

/** Jittered poll delay (±20 %), never past the time left. */
export function pollDelay(pollMs: number, leftMs: number, random: () => number = Math.random): number {
  const jittered = pollMs * (0.8 + 0.4 * random());
  return Math.max(0, Math.min(jittered, leftMs));
}

/**
 * The overlap lock on top of any store's claim/release: `allow` never waits, `skip` answers
 * `skipped` when held, `queue` polls (bounded) until free or `waitMs` passes.
 */
export async function lockWith(
  store: Pick<LeaseStore, 'claim' | 'release' | 'renew'>,
  schedule: string,
  o: LockOptions,
  now: () => number = Date.now,
): Promise<LockResult> {
  const key = lockKey(schedule);
  if (o.mode === 'allow') {
    return { state: 'acquired', key, release: async () => true, renew: async () => true };
  }
  if (o.mode !== 'skip' && o.mode !== 'queue') throw new TypeError(`invalid concurrency ${String(o.mode)}`);
  const waitMs = o.waitMs ?? 60_000;
  const pollMs = o.pollMs ?? 1000;
  const start = now();
  for (;;) {
    o.signal?.throwIfAborted();
    const r = await store.claim(key, o.ttlMs);
    if (r.state === 'claimed') {
      const token = r.token;
      return {
        state: 'acquired',
        key,
        release: () => store.release(key, token),
        renew: (ttl) => store.renew(key, ttl, token),
      };
    }
    if (r.state === 'done') {
      throw new NbtError('INTERNAL', `overlap lock ${key} was marked done; locks are released, never completed`);
    }
    if (o.mode === 'skip') return { state: 'skipped', key, holder: r.holder, expiresAt: r.expiresAt };
    const left = start + waitMs - now();
    if (left <= 0) return { state: 'timed_out', key, holder: r.holder, waitedMs: now() - start };
    await sleep(pollDelay(pollMs, left), undefined, o.signal ? { signal: o.signal } : undefined);
  }
}
