/**
 * How the Jupyter REST client classifies what went wrong: an HTTP status (auth refused, rejected,
 * not up yet, a server error, Cloud Run's front refusing an identity still being granted), a
 * network error (unreachable, retryable or not) and a server's own explanation, redacted and cut.
 * Pure. Spec: docs/function.md (ack or retry); docs/outcomes.md.
 * @module
 */
import { isNbtError, NbtError, type ErrorCode } from '../errors.js';
import { clipRedacted } from '../redact.js';
import { isObject } from './messages.js';

/** HTTP statuses that mean "not up yet" while a server (e.g. a Cloud Run cold start) comes up. */
export const STARTING_STATUSES = new Set([429, 502, 503, 504]);

/** Network error codes that mean "not reachable (yet)". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * A 403 that Cloud Run's front gave a request carrying the function's identity token, not one
 * from Jupyter (whose errors are JSON with a `message`). Right after a deploy grants
 * `roles/run.invoker`, the grant takes minutes to propagate
 * (https://cloud.google.com/iam/docs/access-change-propagation), and the front answers 403
 * (https://cloud.google.com/run/docs/troubleshooting#unauthorized-client) until it has.
 */
export function isFrontRefusal(
  status: number,
  body: string,
  requestHeaders: Readonly<Record<string, string>>,
): boolean {
  if (status !== 403) return false;
  const identity = Object.keys(requestHeaders).some((k) => k.toLowerCase() === 'x-serverless-authorization');
  if (!identity) return false;
  try {
    const v: unknown = JSON.parse(body);
    if (isObject(v) && 'message' in v) return false; // Jupyter's own refusal: the token is wrong
  } catch {
    /* not JSON: not Jupyter */
  }
  return true;
}

/** The server's explanation of an error, short: a server may echo the request (its token) in it. */
export function serverMessage(text: string, secrets: readonly string[]): string {
  try {
    const v: unknown = JSON.parse(text);
    if (isObject(v) && typeof v.message === 'string') return clipRedacted(v.message, 200, secrets);
  } catch {
    /* not JSON */
  }
  return clipRedacted(text.replace(/\s+/g, ' ').trim(), 200, secrets);
}

/**
 * Classifies an HTTP error status. A refusal by Cloud Run's front ({@link isFrontRefusal}) is
 * AUTH_REFUSED but retryable: the message is redelivered within the handler's retry window
 * (NBTRIGGER_RETRY_WINDOW_SEC, NBTRIGGER_MAX_ATTEMPTS), which bounds the wait for IAM.
 */
export function httpError(
  status: number,
  what: string,
  message: string,
  opts: { frontRefusal?: boolean } = {},
): NbtError {
  let code: ErrorCode = 'REQUEST_REJECTED';
  if (status === 401 || status === 403) code = 'AUTH_REFUSED';
  else if (STARTING_STATUSES.has(status) || status >= 500) code = 'SERVER_ERROR';
  if (code === 'AUTH_REFUSED' && opts.frontRefusal) {
    return new NbtError(
      code,
      `${what}: Cloud Run refused the function's identity (HTTP ${status}); an invoker role granted ` +
        'minutes ago may still be propagating, so the message is retried within the retry window',
      { details: { status }, retryable: true },
    );
  }
  const text =
    code === 'AUTH_REFUSED'
      ? `${what}: the server refused the token (HTTP ${status})`
      : `${what}: HTTP ${status}${message ? ` ${message}` : ''}`;
  return new NbtError(code, text, { details: { status } });
}

/** Classifies a thrown network error; aborts keep their reason. */
export function networkError(e: unknown, what: string, base: string): NbtError {
  const err = e as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  // A refusal by the SSRF guard's lookup surfaces as the connect error itself (or its cause).
  if (isNbtError(e)) return e;
  if (isNbtError(err?.cause)) return err.cause;
  if (err?.name === 'AbortError' || err?.code === 'UND_ERR_ABORTED') {
    const reason = (e as { cause?: unknown }).cause;
    if (reason instanceof NbtError) return reason;
  }
  const code = err?.code ?? err?.cause?.code ?? '';
  const retryable = NETWORK_CODES.has(code) || code === '';
  return new NbtError(
    'SERVER_UNREACHABLE',
    `${what}: cannot reach ${base} (${code || err?.message || 'network error'})`,
    { cause: e, retryable, details: { network: code } },
  );
}
