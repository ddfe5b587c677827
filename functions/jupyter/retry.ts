/**
 * Retries a call while the server is still coming up (connection refused, 429, 502, 503, 504:
 * a Cloud Run cold start or a local server starting), with jittered exponential backoff, until
 * a deadline. Anything else fails at once.
 *
 * Spec: docs/function.md (timeouts: server start/readiness).
 * @module
 */
import { NbtError } from '../errors.js';
import { STARTING_STATUSES } from './http-errors.js';

export interface RetryOptions {
  /** Absolute time (ms since epoch) after which no new attempt starts. */
  deadline: number;
  signal?: AbortSignal;
  now?: () => number;
  /** First backoff step, ms. */
  baseMs?: number;
  maxMs?: number;
}

/** True for errors that mean "not up yet". */
export function isStartingError(e: unknown): boolean {
  if (!(e instanceof NbtError)) return false;
  if (e.code === 'SERVER_UNREACHABLE') return e.retryable;
  return e.code === 'SERVER_ERROR' && typeof e.details.status === 'number' && STARTING_STATUSES.has(e.details.status);
}

/** Calls `fn` until it succeeds, fails with a non-starting error, or the deadline passes. */
export async function untilReady<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const now = opts.now ?? Date.now;
  const base = opts.baseMs ?? 40;
  const max = opts.maxMs ?? 2000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isStartingError(e)) throw e;
      const wait = backoffMs(attempt, base, max);
      const left = opts.deadline - now();
      // A cancellation while the server is still coming up is a cancellation, not an unreachable server.
      if (opts.signal?.aborted) throw cancelled(opts.signal);
      if (left <= 0) {
        const last = e as NbtError;
        throw new NbtError('SERVER_UNREACHABLE', `server not ready before its start timeout: ${last.message}`, {
          cause: e,
          details: last.details,
        });
      }
      await sleep(Math.min(wait, left), opts.signal);
      if (opts.signal?.aborted) throw cancelled(opts.signal);
    }
  }
}

/** The error an aborted signal stands for: its reason when that is an NbtError, else CANCELLED. */
export function cancelled(signal: AbortSignal): NbtError {
  return signal.reason instanceof NbtError ? signal.reason : new NbtError('CANCELLED', 'run cancelled');
}

/**
 * Jittered exponential backoff for attempt `attempt` (0-based): uniform in [step/2, step],
 * step = min(max, base·2^attempt).
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const step = Math.min(maxMs, baseMs * 2 ** attempt);
  return step / 2 + Math.random() * (step / 2);
}

/** Waits `ms`, or less when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
