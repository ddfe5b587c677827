/**
 * A notebook in Cloud Storage (`gs://BUCKET/OBJECT`), read with the real `@google-cloud/storage`
 * client (imported on first use): the object's metadata first (its `generation` and `size`, refused
 * past the cap before a byte of content is asked for), then the content of exactly that generation,
 * so the text and the recorded version always match even when the object is overwritten meanwhile.
 * `apiEndpoint` (or the client's own `STORAGE_EMULATOR_HOST`) points it at another JSON-API server.
 *
 * Spec: https://cloud.google.com/storage/docs/json_api/v1/objects/get (generation, size, alt=media);
 * https://cloud.google.com/storage/docs/json_api/v1/status-codes (404 missing; 429 and 5xx retry).
 * @module
 */
import type { Storage } from '@google-cloud/storage';
import { NbtError } from '../errors.js';
import { abortError, collectBounded, type NotebookSource, type SourceRead, tooBig, utf8Text } from './reader.js';

export interface GcsSourceOptions {
  /** Another JSON-API endpoint (tests); default: the client's (or STORAGE_EMULATOR_HOST). */
  apiEndpoint?: string;
  projectId?: string;
}

const clients = new Map<string, Promise<Storage>>();

function client(o: GcsSourceOptions): Promise<Storage> {
  const key = `${o.apiEndpoint ?? ''}\u0000${o.projectId ?? ''}`;
  let c = clients.get(key);
  if (!c) {
    // No retries inside the client: a transient failure is the run's (retryable) error, and the
    // run's deadline bounds the read, not the client's own retry budget.
    c = import('@google-cloud/storage').then(
      ({ Storage }) =>
        new Storage({
          ...(o.apiEndpoint ? { apiEndpoint: o.apiEndpoint } : {}),
          ...(o.projectId ? { projectId: o.projectId } : {}),
          retryOptions: { autoRetry: false },
        }),
    );
    c.catch(() => clients.delete(key));
    clients.set(key, c);
  }
  return c;
}

/** A Cloud Storage object as a notebook source. */
export function gcsSource(bucket: string, object: string, o: GcsSourceOptions = {}): NotebookSource {
  const url = `gs://${bucket}/${object}`;
  return {
    url,
    async read(signal: AbortSignal, maxBytes: number): Promise<SourceRead> {
      if (signal.aborted) throw abortError(signal, url);
      const storage = await client(o);
      try {
        const [meta] = await untilAbort(storage.bucket(bucket).file(object).getMetadata(), signal, url);
        const generation = String(meta.generation ?? '');
        if (Number(meta.size ?? 0) > maxBytes) throw tooBig(url, maxBytes);
        const file = storage.bucket(bucket).file(object, generation ? { generation: Number(generation) } : {});
        const stream = file.createReadStream();
        const onAbort = (): void => {
          stream.destroy(abortError(signal, url));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        try {
          const { bytes, sha256 } = await collectBounded(stream, maxBytes, url);
          return { text: utf8Text(bytes, url), url, version: generation || sha256 };
        } finally {
          signal.removeEventListener('abort', onAbort);
          stream.destroy();
        }
      } catch (e) {
        throw classify(e, url, signal);
      }
    },
  };
}

function untilAbort<T>(p: Promise<T>, signal: AbortSignal, url: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, url));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** What a failed read means: missing (permanent), refused (permanent), or transient (retry). */
function classify(e: unknown, url: string, signal: AbortSignal): NbtError {
  if (e instanceof NbtError) return e;
  if (signal.aborted) return abortError(signal, url);
  const status = Number((e as { code?: unknown }).code);
  const message = (e as Error)?.message ?? String(e);
  const said = message.slice(0, 200);
  const details = { status };
  if (status === 404) {
    return new NbtError('NOTEBOOK_NOT_FOUND', `notebook "${url}" does not exist`, {
      details: { ...details, field: 'notebook' },
    });
  }
  if (status === 429 || status >= 500) {
    return new NbtError('SERVER_ERROR', `Cloud Storage answered ${status} for ${url}: ${said}`, { details });
  }
  if (status >= 400 && status < 500)
    return new NbtError('REQUEST_REJECTED', `Cloud Storage refused ${url} (${status}): ${said}`, { details });
  return new NbtError('SERVER_UNREACHABLE', `Cloud Storage not reached for ${url}: ${said}`, { cause: e });
}
