/**
 * How deploy paces its API calls: at most `concurrency` calls at a time, and a call refused for a
 * rate quota (gRPC RESOURCE_EXHAUSTED, HTTP 429) is tried again after the delay the server asks
 * for in its `google.rpc.RetryInfo` (exponential backoff with jitter when it names none), a
 * bounded number of times. Any other failure is the caller's to report.
 *
 * Spec: docs/deploy.md ("Scale"); https://google.aip.dev/194 (retry RESOURCE_EXHAUSTED after a delay);
 * https://cloud.google.com/apis/design/errors#retrying_errors; https://google.aip.dev/193#retryinfo.
 * @module
 */

/** RESOURCE_EXHAUSTED (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
const RESOURCE_EXHAUSTED = 8;

export interface Pacing {
  /** Calls in flight at most. */
  concurrency: number;
  /** Tries of one call in all (the first included). */
  attempts: number;
  /** A delay the server asks for above this is not waited for: the call fails with the server's answer. */
  maxDelayMs: number;
  /** Backoff base when the server names no delay. */
  baseDelayMs: number;
  /** Test seam. */
  sleep?: (ms: number) => Promise<void>;
  /** Told before each wait. */
  onRetry?: (what: string, delayMs: number, attempt: number) => void;
}

/**
 * Eight calls in flight keeps a deploy of 1,000 services and 2,000 jobs within minutes, while the
 * Cloud Scheduler write quota (500 a minute) and the Cloud Run Admin API's per-region write quota
 * pace the rest through RESOURCE_EXHAUSTED and its retry delay.
 */
export const DEFAULT_PACING: Pacing = { concurrency: 8, attempts: 6, maxDelayMs: 120_000, baseDelayMs: 1_000 };

/** The error, or the API error it wraps (deploy/clients/errors.ts keeps it as `cause`). */
function chain(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let x: unknown = e; x !== undefined && x !== null && out.length < 4; x = (x as { cause?: unknown }).cause)
    out.push(x);
  return out;
}

/** True when `e` (or what it wraps) is a rate-quota refusal. */
export function isQuotaExhausted(e: unknown): boolean {
  return chain(e).some((x) => {
    const o = x as { code?: unknown; status?: unknown; details?: unknown };
    return (
      o.code === RESOURCE_EXHAUSTED ||
      o.code === 429 ||
      o.status === 429 ||
      (o as { details?: { grpcCode?: unknown } }).details?.grpcCode === RESOURCE_EXHAUSTED
    );
  });
}

/** The delay a `google.rpc.RetryInfo` in the error's status details asks for, in ms; undefined when none. */
export function serverRetryDelayMs(e: unknown): number | undefined {
  for (const x of chain(e)) {
    const details = (x as { statusDetails?: unknown }).statusDetails;
    if (!Array.isArray(details)) continue;
    for (const d of details) {
      const delay = (d as { retryDelay?: { seconds?: unknown; nanos?: unknown } } | null)?.retryDelay;
      if (delay) return Number(delay.seconds ?? 0) * 1000 + Math.round(Number(delay.nanos ?? 0) / 1e6);
    }
  }
  return undefined;
}

/** Runs `fn`, trying it again after a rate-quota refusal as {@link Pacing} says. */
export async function withQuotaRetry<T>(what: string, fn: () => Promise<T>, p: Pacing = DEFAULT_PACING): Promise<T> {
  const sleep = p.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isQuotaExhausted(e) || attempt >= p.attempts) throw e;
      const asked = serverRetryDelayMs(e);
      if (asked !== undefined && asked > p.maxDelayMs) throw e;
      const backoff = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (attempt - 1));
      const delay = asked ?? Math.round(backoff / 2 + Math.random() * (backoff / 2));
      p.onRetry?.(what, delay, attempt);
      await sleep(delay);
    }
  }
}

/** Calls `fn` on every item, at most `limit` at a time; resolves when all have settled (never rejects). */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch {
        // fn reports its own failures; one failure does not stop the others.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
