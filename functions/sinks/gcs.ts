/**
 * Cloud Storage sink on the real `@google-cloud/storage` client, imported only when a `gs://` location
 * is written. Small bodies go up in one multipart request (`uploadType=multipart`), larger ones as a
 * resumable upload; the client checks the CRC32C/MD5 the service answers against what it sent.
 * `apiEndpoint` (or the client's own `STORAGE_EMULATOR_HOST`) points it at another JSON-API server, in
 * which case the client sends no credentials.
 *
 * Spec: issue 3 "Sinks" (gs://bucket/prefix/..., tested against a local JSON-API server);
 * https://cloud.google.com/storage/docs/uploads-downloads.
 * @module
 */
import type { Storage } from '@google-cloud/storage';
import type { Location } from './location.js';
import { failed, type Sink, type SinkDeps, type SinkResult } from './sink.js';

/** Below this size an upload is one multipart request; at or above it, resumable. */
export const RESUMABLE_THRESHOLD_BYTES = 8 * 1024 * 1024;

const clients = new Map<string, Promise<Storage>>();

/** One client per endpoint/project, created on first use. */
function client(apiEndpoint: string | undefined, projectId: string | undefined, timeoutMs: number): Promise<Storage> {
  const key = `${apiEndpoint ?? ''}\u0000${projectId ?? ''}\u0000${timeoutMs}`;
  let c = clients.get(key);
  if (!c) {
    c = import('@google-cloud/storage').then(({ Storage, IdempotencyStrategy }) => new Storage({
      ...(apiEndpoint ? { apiEndpoint } : {}),
      ...(projectId ? { projectId } : {}),
      // Writing the same bytes to the same name twice is harmless: retry transient failures.
      retryOptions: { autoRetry: true, maxRetries: 2, totalTimeout: Math.ceil(timeoutMs / 1000), idempotencyStrategy: IdempotencyStrategy.RetryAlways },
    }));
    c.catch(() => clients.delete(key));
    clients.set(key, c);
  }
  return c;
}

/** Writes one object to a bucket. */
export class GcsSink implements Sink {
  readonly location: Location & { kind: 'gcs' };

  constructor(location: Location & { kind: 'gcs' }, private readonly deps: SinkDeps = {}) {
    this.location = location;
  }

  async write(body: string | Uint8Array, contentType: string, signal?: AbortSignal): Promise<SinkResult> {
    const where = `gs://${this.location.bucket}/${this.location.object}`;
    const o = this.deps.gcs ?? {};
    const timeoutMs = o.timeoutMs ?? 120_000;
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const storage = await client(o.apiEndpoint, o.projectId, timeoutMs);
      const file = storage.bucket(this.location.bucket).file(this.location.object);
      const upload = file.save(data, {
        contentType,
        resumable: data.byteLength >= (o.resumableThresholdBytes ?? RESUMABLE_THRESHOLD_BYTES),
        metadata: { contentType, cacheControl: 'no-cache' },
        timeout: timeoutMs,
      });
      const stop = new Promise<never>((_res, rej) => {
        timer = setTimeout(() => rej(new Error(`upload did not finish within ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
        if (signal) {
          onAbort = () => rej(new Error('upload cancelled'));
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }
      });
      upload.catch(() => undefined); // a late failure after the timeout must not be unhandled
      await Promise.race([upload, stop]);
      return { location: where, ok: true, bytes: data.byteLength };
    } catch (e) {
      return failed(where, e, this.deps.secrets);
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }
}
