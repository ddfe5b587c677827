/**
 * Restoring a lost kernel channel. When the WebSocket drops while the kernel lives (a network
 * cut, or Cloud Run closing the connection at its request timeout), the executor asks a
 * {@link Reconnector} for a new channel: it checks the kernel over REST (`GET /api/kernels/{id}`:
 * 404 or `execution_state: dead` → KERNEL_DIED at once), then reconnects with the SAME
 * `session_id`, so Jupyter Server hands the new connection the messages it buffered while no
 * client was connected. Attempts are bounded (count, backoff, the run's deadline).
 *
 * What cannot be recovered: bytes the server had already written to the connection that was
 * cut (it buffers only once it notices that no client is connected). The executor's barrier
 * (see execution-machine.ts) turns a lost reply or idle into KERNEL_DIED instead of a hang; a lost
 * `stream` chunk cannot be detected by the protocol. Jupyter Server 1.x also drops the buffer
 * when another session connects to the kernel meanwhile (only one session buffers).
 *
 * Spec: docs/jupyter-protocol.md (reconnect with the same session_id; the server replays);
 * docs/function.md (Reconnect). How the executor decides what to resend: see execution-machine.ts.
 * @module
 */
import { isNbtError, NbtError } from '../errors.js';
import { undiciConnect, type Connector } from '../security/connector.js';
import type { KernelChannel } from './channel.js';
import type { CookieJar } from './cookie-jar.js';
import { isObject } from './messages.js';
import { networkError } from './http-errors.js';
import { backoffMs, sleep } from './retry.js';
import { loadUndici } from '../patches/undici-lean.js';

/** What the server says about a kernel: running (any live state), gone (404) or dead. */
export type KernelState = { state: 'alive'; executionState: string } | { state: 'gone' } | { state: 'dead' };

/** Opens a new channel to the same kernel with the same session, or throws a classified error. */
export type Reconnector = (cause: NbtError, signal: AbortSignal) => Promise<KernelChannel>;

export interface ReconnectOptions {
  /** Opens a channel with the run's session id (the same one every time). */
  connect: (signal: AbortSignal) => Promise<KernelChannel>;
  /** Asks the server whether the kernel still lives; throws (network, 5xx) when it cannot tell. */
  kernelState: (signal: AbortSignal) => Promise<KernelState>;
  /** Attempts per drop (default 5). */
  attempts?: number;
  /** Backoff between attempts: first step and cap, ms (defaults 250 and 2000; the first attempt is immediate). */
  baseMs?: number;
  maxMs?: number;
  /** Absolute time (ms since epoch) after which no attempt starts. */
  deadline?: number;
  now?: () => number;
  onAttempt?: (attempt: number, error?: NbtError) => void;
}

export const DEFAULT_RECONNECT_ATTEMPTS = 5;

/** Builds the reconnect policy the executor calls after each unexpected close. */
export function createReconnector(o: ReconnectOptions): Reconnector {
  const attempts = o.attempts ?? DEFAULT_RECONNECT_ATTEMPTS;
  const now = o.now ?? Date.now;
  return async (cause, signal) => {
    let last: NbtError | undefined;
    let unreachable = true;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        const wait = backoffMs(attempt - 1, o.baseMs ?? 250, o.maxMs ?? 2000);
        if (o.deadline !== undefined && now() + wait >= o.deadline) break;
        await sleep(wait, signal);
      }
      if (signal.aborted) break;
      try {
        const k = await o.kernelState(signal);
        if (k.state !== 'alive') {
          throw new NbtError(
            'KERNEL_DIED',
            `${cause.message}; the kernel is ${k.state === 'gone' ? 'gone from the server (404)' : 'dead'}`,
          );
        }
        o.onAttempt?.(attempt + 1);
        return await o.connect(signal);
      } catch (e) {
        const err = isNbtError(e) ? e : new NbtError('KERNEL_DIED', String(e), { cause: e });
        o.onAttempt?.(attempt + 1, err);
        // The kernel is gone, or the server refuses us: retrying cannot help.
        if (err.code === 'KERNEL_DIED' || err.code === 'AUTH_REFUSED' || err.code === 'SERVER_NOT_ALLOWED') {
          throw err.code === 'KERNEL_DIED' && err.message.startsWith(cause.message)
            ? err
            : new NbtError(err.code, `${cause.message}; reconnecting failed: ${err.message}`, { details: err.details });
        }
        last = err;
        unreachable &&= err.code === 'SERVER_UNREACHABLE';
      }
    }
    // Every attempt found no server at all: say so (the executor decides what that means for the run).
    const code = last !== undefined && unreachable ? 'SERVER_UNREACHABLE' : 'KERNEL_DIED';
    throw new NbtError(
      code,
      `${cause.message}; not restored after ${attempts} reconnect attempt(s)${last ? `: ${last.message}` : ''}`,
      { details: { reconnectAttempts: attempts } },
    );
  };
}

export interface KernelStateOptions {
  base: string;
  headers: Record<string, string>;
  kernelId: string;
  /** The run's cookie jar (session affinity): sent, and what the answer sets is kept. */
  cookies?: CookieJar;
  /** Opens the connection (the function's SSRF guard); default: a plain socket. */
  connector?: Connector;
  timeoutMs?: number;
}

/**
 * `GET /api/kernels/{id}` on a fresh connection (the run's pool may hold sockets the cut broke).
 * 404 → gone; `execution_state: dead` → dead; other 2xx → alive; anything else throws.
 */
export async function fetchKernelState(o: KernelStateOptions, signal?: AbortSignal): Promise<KernelState> {
  const timeout = o.timeoutMs ?? 5000;
  const u = await loadUndici();
  const connect = o.connector ? undiciConnect(o.connector) : { timeout };
  const client = new u.Client(o.base, { connect, headersTimeout: timeout, bodyTimeout: timeout });
  const what = `GET /api/kernels/${o.kernelId}`;
  try {
    const path = `/api/kernels/${encodeURIComponent(o.kernelId)}`;
    const headers = o.cookies ? o.cookies.withCookies(o.headers, path) : o.headers;
    const res = await u.request
      .call(client, { method: 'GET', path, headers, signal: signal ?? null })
      .catch((e: unknown) => {
        throw networkError(e, what, o.base);
      });
    o.cookies?.store(res.headers['set-cookie'], path);
    const text = await res.body.text().catch((e: unknown) => {
      throw networkError(e, what, o.base);
    });
    if (res.statusCode === 404) return { state: 'gone' };
    if (res.statusCode === 401 || res.statusCode === 403)
      throw new NbtError('AUTH_REFUSED', `${what}: the server refused the token (HTTP ${res.statusCode})`, {
        details: { status: res.statusCode },
      });
    if (res.statusCode < 200 || res.statusCode >= 300)
      throw new NbtError('SERVER_ERROR', `${what}: HTTP ${res.statusCode}`, { details: { status: res.statusCode } });
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new NbtError('PROTOCOL_ERROR', `${what}: answer is not JSON`);
    }
    const state = isObject(body) && typeof body.execution_state === 'string' ? body.execution_state : 'unknown';
    return state === 'dead' ? { state: 'dead' } : { state: 'alive', executionState: state };
  } finally {
    client.destroy().catch(() => undefined);
  }
}

export { SeenIds } from './seen-ids.js';
