/**
 * Cloud Storage for deploy (the @google-cloud/storage client, imported on first use): whether a
 * notebook object exists, and its upload only when it does not (`ifGenerationMatch=0`), so two
 * deploys uploading the same content at once are both fine: the second is answered 412
 * (precondition failed), which means the object is there. The client reads `STORAGE_EMULATOR_HOST`
 * itself; `apiEndpoint` points it elsewhere (tests), and then it sends no credentials.
 *
 * Spec: https://cloud.google.com/storage/docs/json_api/v1/objects/insert (ifGenerationMatch),
 * https://cloud.google.com/storage/docs/request-preconditions.
 * @module
 */
import type { Storage } from '@google-cloud/storage';
import { NbtError } from '../../functions/errors.js';

/** What deploy does with notebook objects. */
export interface NotebookStore {
  /** True when `gs://bucket/object` exists. */
  exists(bucket: string, object: string): Promise<boolean>;
  /** Uploads `bytes` unless the object exists: `created`, or `exists` (the service answered 412). */
  createIfAbsent(bucket: string, object: string, bytes: Buffer): Promise<'created' | 'exists'>;
}

/** The media type of a notebook (https://jupyter.org/ nbformat; registered as application/x-ipynb+json). */
const NOTEBOOK_TYPE = 'application/x-ipynb+json';
/** Longest one call (with the client's own retries) may take. */
const CALL_TIMEOUT_MS = 120_000;

/** A store on the real client; the library is imported by the first call, not before. */
export function createNotebookStore(
  o: { apiEndpoint?: string; projectId?: string; timeoutMs?: number } = {},
): NotebookStore {
  const timeoutMs = o.timeoutMs ?? CALL_TIMEOUT_MS;
  let client: Promise<Storage> | undefined;
  const storage = (): Promise<Storage> => {
    client ??= import('@google-cloud/storage').then(
      ({ Storage, IdempotencyStrategy }) =>
        new Storage({
          ...(o.apiEndpoint ? { apiEndpoint: o.apiEndpoint } : {}),
          ...(o.projectId ? { projectId: o.projectId } : {}),
          // With ifGenerationMatch the upload is idempotent: the client retries it (RetryConditional).
          retryOptions: {
            autoRetry: true,
            maxRetries: 3,
            totalTimeout: Math.ceil(timeoutMs / 1000),
            idempotencyStrategy: IdempotencyStrategy.RetryConditional,
          },
        }),
    );
    return client;
  };
  return {
    async exists(bucket, object) {
      const what = `read gs://${bucket}/${object}`;
      try {
        const file = (await storage()).bucket(bucket).file(object);
        const [found] = await within(timeoutMs, what, file.exists());
        return found;
      } catch (e) {
        throw storageError(what, e);
      }
    },
    async createIfAbsent(bucket, object, bytes) {
      const what = `upload gs://${bucket}/${object}`;
      try {
        const file = (await storage()).bucket(bucket).file(object);
        await within(
          timeoutMs,
          what,
          file.save(bytes, {
            resumable: false,
            contentType: NOTEBOOK_TYPE,
            metadata: { contentType: NOTEBOOK_TYPE },
            preconditionOpts: { ifGenerationMatch: 0 },
            timeout: timeoutMs,
          }),
        );
        return 'created';
      } catch (e) {
        if (httpStatus(e) === 412) return 'exists';
        throw storageError(what, e);
      }
    },
  };
}

function httpStatus(e: unknown): number | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
}

/** A Cloud Storage failure as an NbtError: 408, 429 and 5xx (and no answer) are transient. */
function storageError(what: string, e: unknown): NbtError {
  if (e instanceof NbtError) return e;
  const status = httpStatus(e);
  const transient = status === undefined || status === 408 || status === 429 || status >= 500;
  return new NbtError(
    transient ? 'SERVER_ERROR' : 'REQUEST_REJECTED',
    `${what} failed: ${(e as Error).message ?? String(e)}${status ? ` (HTTP ${status})` : ''}`,
    { cause: e, details: status === undefined ? {} : { httpStatus: status } },
  );
}

/** `p`, or a transient error after `ms`. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  p.catch(() => undefined); // a late failure after the timeout must not be unhandled
  try {
    return await Promise.race([
      p,
      new Promise<never>((_res, rej) => {
        timer = setTimeout(() => rej(new NbtError('SERVER_ERROR', `${what}: no answer within ${ms} ms`)), ms);
        timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
