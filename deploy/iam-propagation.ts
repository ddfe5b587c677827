/**
 * IAM grants made by one deploy, and a bounded wait for them to take effect. IAM is eventually
 * consistent: a change to an allow policy typically takes effect in 2 minutes and may take 7 or
 * longer (https://cloud.google.com/iam/docs/access-change-propagation). So a PERMISSION_DENIED
 * (gRPC 7, HTTP 403) that a call of the deploy meets after the deploy itself granted a role may
 * be that grant not yet seen: the call is tried again with backoff until the window after the
 * latest grant has passed, then it fails with a message naming the roles, members and resources
 * granted. A refusal with no grant before it in the same deploy is not waited for: it fails at once.
 *
 * Pure apart from the injected clock and sleep. Spec: docs/deploy.md ("IAM propagation").
 * @module
 */
import { isNbtError, NbtError } from '../functions/errors.js';

/** Where Google documents how long a policy change takes to take effect. */
export const IAM_PROPAGATION_URL = 'https://cloud.google.com/iam/docs/access-change-propagation';
/** Default window after a grant: the documented "potentially 7 minutes". */
export const DEFAULT_PROPAGATION_WINDOW_MS = 7 * 60_000;

/** One role given by the deploy. */
export interface Grant {
  role: string;
  member: string;
  /** The resource whose policy holds the binding. */
  resource: string;
  /** When the policy write returned (ms since epoch). */
  at: number;
}

export interface PropagationOptions {
  /** How long after the latest grant a refusal is still waited for, ms. */
  windowMs?: number;
  /** First wait between tries, ms (doubled each time, at most `maxDelayMs`). */
  firstDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Told before each wait (deploy prints it: a long wait is not a hang). */
  onWait?: (what: string, attempt: number, waitMs: number) => void;
}

/** True when `e` is a permission refusal: gRPC PERMISSION_DENIED (7) or HTTP 403, raw or wrapped. */
export function isPermissionDenied(e: unknown): boolean {
  const seen = new Set<unknown>();
  for (let x: unknown = e; x && typeof x === 'object' && !seen.has(x); x = (x as { cause?: unknown }).cause) {
    seen.add(x);
    const o = x as { code?: unknown; details?: unknown };
    if (o.code === 7 || o.code === 403) return true;
    if (isNbtError(x) && (x.details.grpcCode === 7 || x.details.status === 403)) return true;
  }
  return false;
}

/** The grants of one deploy, and calls that wait for them. One per deploy: never shared. */
export class GrantWatch {
  private readonly log: Grant[] = [];
  private readonly windowMs: number;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly onWait?: PropagationOptions['onWait'];

  constructor(o: PropagationOptions = {}) {
    this.windowMs = o.windowMs ?? DEFAULT_PROPAGATION_WINDOW_MS;
    if (!(this.windowMs >= 0)) {
      throw new NbtError('CONFIG', `the IAM propagation window must be ≥ 0 ms, got ${this.windowMs}`);
    }
    this.firstDelayMs = o.firstDelayMs ?? 2000;
    this.maxDelayMs = o.maxDelayMs ?? 30_000;
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.onWait = o.onWait;
  }

  /** Records that `role` was granted to each of `members` on `resource` (a policy write that returned). */
  granted(role: string, members: readonly string[], resource: string): void {
    const at = this.now();
    for (const member of members) this.log.push({ role, member, resource, at });
  }

  /** The grants made so far. */
  grants(): readonly Grant[] {
    return this.log;
  }

  /**
   * Runs `call`; a permission refusal while a grant of this deploy is younger than the window is
   * tried again (backoff), until it passes or the window after the latest grant ends. `what`
   * names the call (`create Cloud Scheduler job projects/…`).
   */
  async call<T>(what: string, call: () => Promise<T>): Promise<T> {
    let delay = this.firstDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (!isPermissionDenied(e) || this.log.length === 0) throw e;
        const latest = Math.max(...this.log.map((g) => g.at));
        const left = latest + this.windowMs - this.now();
        if (left <= 0) throw this.gaveUp(what, e, attempt);
        const wait = Math.min(delay, left);
        this.onWait?.(what, attempt, wait);
        await this.sleep(wait);
        delay = Math.min(delay * 2, this.maxDelayMs);
      }
    }
  }

  private gaveUp(what: string, e: unknown, attempts: number): NbtError {
    const granted = this.log.map((g) => `${g.role} to ${g.member} on ${g.resource}`);
    const cause = e instanceof Error ? e.message : String(e);
    const roles = [...new Set(this.log.map((g) => g.role))];
    const resources = [...new Set(this.log.map((g) => g.resource))];
    return new NbtError(
      'REQUEST_REJECTED',
      `${what}: permission denied for ${Math.round(this.windowMs / 1000)} s after this deploy granted ` +
        `${[...new Set(granted)].join('; ')} (${attempts} attempts). IAM changes typically take effect in ` +
        `2 minutes, potentially 7 or longer (${IAM_PROPAGATION_URL}): run deploy again later, or check the ` +
        `role is the one this call needs. Last refusal: ${cause}`,
      { cause: e, details: { grpcCode: 7, roles, resources } },
    );
  }
}
