/**
 * One error base for nbtrigger. Every error has a stable `code` that callers match on
 * (never `instanceof` chains), a `retryable` flag that decides ack (return) versus
 * retry (throw) in the Pub/Sub function, and the CLI exit code it maps to.
 *
 * Spec: docs/architecture.md (ack/retry), docs/function.md (exit codes).
 * @module
 */

/** How a failure is classified for the CLI exit code and the run record status. */
export type ErrorKind = 'input' | 'notebook' | 'timeout' | 'infrastructure';

/** Stable codes. Add new ones at the end; never rename. */
export const ErrorCodes = {
  /** Usage error on the command line. */
  USAGE: { kind: 'input', retryable: false },
  /** Pub/Sub payload or message grammar is invalid. */
  BAD_MESSAGE: { kind: 'input', retryable: false },
  /** The function or CLI is misconfigured (for example JUPYTER_TOKEN is not set). */
  CONFIG: { kind: 'input', retryable: false },
  /** Notebook is not JSON, not nbformat 4 (or 2–3, upgraded), has no cells, or is not an .ipynb path. */
  BAD_NOTEBOOK: { kind: 'input', retryable: false },
  /** Notebook path does not exist (404) or is a directory. */
  NOTEBOOK_NOT_FOUND: { kind: 'input', retryable: false },
  /** The server refused the token (401/403). */
  AUTH_REFUSED: { kind: 'input', retryable: false },
  /** The requested kernelspec does not exist on the server. */
  NO_SUCH_KERNEL: { kind: 'input', retryable: false },
  /** The server (or a configuration) refused the request permanently (4xx other than auth/404). */
  REQUEST_REJECTED: { kind: 'input', retryable: false },
  /** The target server is not allowed (SSRF guard). */
  SERVER_NOT_ALLOWED: { kind: 'input', retryable: false },
  /** A cell raised an error. */
  CELL_ERROR: { kind: 'notebook', retryable: false },
  /** A cell or the run exceeded its time limit. */
  TIMEOUT: { kind: 'timeout', retryable: false },
  /** The server did not become reachable before its start timeout. */
  SERVER_UNREACHABLE: { kind: 'infrastructure', retryable: true },
  /** The server answered 5xx. */
  SERVER_ERROR: { kind: 'infrastructure', retryable: true },
  /** The kernel died, restarted, or its channel closed unexpectedly. */
  KERNEL_DIED: { kind: 'infrastructure', retryable: true },
  /** The server or kernel sent something that breaks the protocol. */
  PROTOCOL_ERROR: { kind: 'infrastructure', retryable: true },
  /** The run was cancelled by a signal (Ctrl-C). */
  CANCELLED: { kind: 'infrastructure', retryable: false },
  /** A store (Firestore, the local state folder) could not be reached: retry later. */
  STORE_UNAVAILABLE: { kind: 'infrastructure', retryable: true },
  /** The same message (or runKey) is being run right now by another delivery: retry later, never run twice. */
  IN_PROGRESS: { kind: 'infrastructure', retryable: true },
  /** Anything not classified: a bug in nbtrigger. Not retried (a retry would fail the same way). */
  INTERNAL: { kind: 'infrastructure', retryable: false },
  /** The notebook source (gs://, https://, file://) is not in ALLOWED_SOURCES. */
  SOURCE_NOT_ALLOWED: { kind: 'input', retryable: false },
  /** Cloud Run could not start a job execution now (RESOURCE_EXHAUSTED, UNAVAILABLE): retry later. */
  JOB_UNAVAILABLE: { kind: 'infrastructure', retryable: true },
  /** Cloud Run refused to start the job (PERMISSION_DENIED, NOT_FOUND, INVALID_ARGUMENT): final. */
  JOB_REFUSED: { kind: 'input', retryable: false },
} as const satisfies Record<string, { kind: ErrorKind; retryable: boolean }>;

export type ErrorCode = keyof typeof ErrorCodes;

/** Extra structured facts an error may carry (all safe to log: never a token). */
export interface ErrorDetails {
  cellIndex?: number;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  status?: number;
  field?: string;
  [key: string]: unknown;
}

/** The single error base. `retryable` may be overridden per instance (e.g. kernel died mid-run is permanent). */
export class NbtError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: ErrorDetails;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: ErrorDetails; cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NbtError';
    this.code = code;
    this.retryable = options.retryable ?? ErrorCodes[code].retryable;
    this.details = options.details ?? {};
  }

  get kind(): ErrorKind {
    return ErrorCodes[this.code].kind;
  }
}

/** True when `e` is an nbtrigger error (by shape, so it survives module duplication). */
export function isNbtError(e: unknown): e is NbtError {
  return (
    e instanceof Error &&
    typeof (e as NbtError).code === 'string' &&
    Object.hasOwn(ErrorCodes, (e as NbtError).code) &&
    typeof (e as NbtError).retryable === 'boolean'
  );
}

/** Wraps anything thrown into an NbtError; unknown errors become INTERNAL. */
export function toNbtError(e: unknown): NbtError {
  if (isNbtError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new NbtError('INTERNAL', message, { cause: e });
}

/** CLI exit code for an error kind: 1 notebook failed/timed out, 2 bad input, 3 infrastructure. */
export function exitCodeFor(kind: ErrorKind): 1 | 2 | 3 {
  switch (kind) {
    case 'notebook':
    case 'timeout':
      return 1;
    case 'input':
      return 2;
    default:
      return 3;
  }
}
