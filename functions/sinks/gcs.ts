/**
 * Cloud Storage sink on the real `@google-cloud/storage` client, imported only when a `gs://` location
 * is written. Small bodies go up in one multipart request (`uploadType=multipart`), larger ones as a
 * resumable upload (a body given in pieces, once past 1 MiB, is streamed into it, never held
 * whole); the client checks the CRC32C/MD5 the service answers against what it sent.
 * `apiEndpoint` (or the client's own `STORAGE_EMULATOR_HOST`) points it at another JSON-API server, in
 * which case the client sends no credentials.
 *
 * Spec: docs/function.md (gs://bucket/prefix/..., tested against a local JSON-API server);
 * https://cloud.google.com/storage/docs/uploads-downloads.
 * @module
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Storage } from '@google-cloud/storage';
import { pieceBytes } from '../notebook/json-pieces.js';
import type { Location } from './location.js';
import { failed, type Sink, type SinkBody, type SinkDeps, type SinkResult } from './sink.js';

/** Below this size an upload is one multipart request; at or above it, resumable. */
const RESUMABLE_THRESHOLD_BYTES = 8 * 1024 * 1024;

/** A body in pieces is gathered up to this many bytes (or the threshold, if lower) before it streams. */
const GATHER_LIMIT_BYTES = 1024 * 1024;

const clients = new Map<string, Promise<Storage>>();

/** One client per endpoint/project, created on first use. */
function client(apiEndpoint: string | undefined, projectId: string | undefined, timeoutMs: number): Promise<Storage> {
  const key = `${apiEndpoint ?? ''}\u0000${projectId ?? ''}\u0000${timeoutMs}`;
  let c = clients.get(key);
  if (!c) {
    c = import('@google-cloud/storage').then(
      ({ Storage, IdempotencyStrategy }) =>
        new Storage({
          ...(apiEndpoint ? { apiEndpoint } : {}),
          ...(projectId ? { projectId } : {}),
          // Writing the same bytes to the same name twice is harmless: retry transient failures.
          retryOptions: {
            autoRetry: true,
            maxRetries: 2,
            totalTimeout: Math.ceil(timeoutMs / 1000),
            idempotencyStrategy: IdempotencyStrategy.RetryAlways,
          },
        }),
    );
    c.catch(() => clients.delete(key));
    clients.set(key, c);
  }
  return c;
}

/** Writes one object to a bucket. */
export class GcsSink implements Sink {
  readonly location: Location & { kind: 'gcs' };

  constructor(
    location: Location & { kind: 'gcs' },
    private readonly deps: SinkDeps = {},
  ) {
    this.location = location;
  }

  async write(body: SinkBody, contentType: string, signal?: AbortSignal): Promise<SinkResult> {
    const where = `gs://${this.location.bucket}/${this.location.object}`;
    const o = this.deps.gcs ?? {};
    const timeoutMs = o.timeoutMs ?? 120_000;
    const threshold = o.resumableThresholdBytes ?? RESUMABLE_THRESHOLD_BYTES;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      // Text in pieces: up to the threshold it is gathered and sent in one request; past it, the
      // pieces gathered so far and the rest are streamed into a resumable upload, never held whole.
      const head = typeof body === 'function' ? gather(body(), Math.min(threshold, GATHER_LIMIT_BYTES)) : undefined;
      const data = head
        ? head.rest
          ? undefined
          : head.data
        : typeof body === 'string'
          ? Buffer.from(body, 'utf8')
          : body instanceof Uint8Array
            ? Buffer.from(body.buffer, body.byteOffset, body.byteLength)
            : undefined;
      const storage = await client(o.apiEndpoint, o.projectId, timeoutMs);
      const file = storage.bucket(this.location.bucket).file(this.location.object);
      const options = { contentType, metadata: { contentType, cacheControl: 'no-cache' }, timeout: timeoutMs };
      let bytes = data?.byteLength ?? 0;
      const upload = data
        ? file.save(data, { ...options, resumable: data.byteLength >= threshold })
        : pipeline(
            Readable.from(countBytes(head!, (n) => (bytes = n))),
            file.createWriteStream({ ...options, resumable: true }),
          );
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
      return { location: where, ok: true, bytes };
    } catch (e) {
      return failed(where, e, this.deps.secrets);
    } finally {
      if (timer) clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** The first pieces of a body, as bytes, until `limit` bytes or the end; `rest` continues it. */
interface Gathered {
  data: Buffer;
  rest: Iterator<string | Uint8Array> | undefined;
}

function gather(pieces: Iterable<string | Uint8Array>, limit: number): Gathered {
  const it = pieces[Symbol.iterator]();
  const bufs: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const r = it.next();
    if (r.done) return { data: Buffer.concat(bufs, n), rest: undefined };
    const b = pieceBytes(r.value);
    bufs.push(b);
    n += b.length;
    if (n >= limit) return { data: Buffer.concat(bufs, n), rest: it };
  }
}

/** The gathered head, then the rest of the pieces, as bytes; reports the running total. */
function* countBytes(g: Gathered, report: (n: number) => void): Generator<Uint8Array, void, undefined> {
  let n = g.data.length;
  report(n);
  yield g.data;
  for (let r = g.rest!.next(); !r.done; r = g.rest!.next()) {
    const b = pieceBytes(r.value);
    n += b.length;
    report(n);
    yield b;
  }
}
