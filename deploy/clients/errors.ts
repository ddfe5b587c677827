/**
 * Turns a Google API (gRPC) failure into an NbtError with a stable code, naming the call and
 * the resource. Permanent refusals (invalid argument, permission denied, precondition) are not
 * retryable; unavailable / deadline / internal are.
 *
 * Spec: functions/errors.ts (one error base, stable codes);
 * https://grpc.github.io/grpc/core/md_doc_statuscodes.html.
 * @module
 */
import { NbtError, isNbtError } from '../../functions/errors.js';

/** gRPC status codes nbtrigger looks at. */
export const GrpcCode = {
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  UNAUTHENTICATED: 16,
  UNAVAILABLE: 14,
  DEADLINE_EXCEEDED: 4,
} as const;

/** The gRPC status code of an error, if it has one. */
export function grpcCode(e: unknown): number | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
}

/** Wraps an API failure: `what` says the call (`create Cloud Run service projects/…`). */
export function apiError(what: string, e: unknown): NbtError {
  if (isNbtError(e)) return e;
  const code = grpcCode(e);
  const detail = e as { details?: unknown; message?: unknown } | null;
  const text =
    typeof detail?.details === 'string' && detail.details !== '' ? detail.details : String(detail?.message ?? e);
  const transient =
    code === GrpcCode.UNAVAILABLE || code === GrpcCode.DEADLINE_EXCEEDED || code === 13 || code === 8 || code === 10;
  return new NbtError(
    transient ? 'SERVER_ERROR' : 'REQUEST_REJECTED',
    `${what} failed: ${text}${code !== undefined ? ` (gRPC code ${code})` : ''}`,
    { cause: e, details: code === undefined ? {} : { grpcCode: code } },
  );
}
