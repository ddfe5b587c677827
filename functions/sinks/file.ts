/**
 * Local-file sink: creates missing directories and writes atomically (a temporary file in the same
 * directory, then a rename), so a reader never sees half a notebook and a crash leaves no partial file.
 *
 * Spec: issue 3 "Sinks" (a local path; default `runs/{notebook}/{date}-{runId}.ipynb`).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { stringSlices } from '../notebook/json-pieces.js';
import type { Location } from './location.js';
import { failed, type Sink, type SinkBody, type SinkDeps, type SinkResult } from './sink.js';

/** Text is written in 1 MiB slices: a large notebook is never converted to bytes all at once. */
const SLICE = 1 << 20;

/** Writes the body to `path`; resolves with the bytes written. */
async function writeBody(path: string, body: SinkBody, signal?: AbortSignal): Promise<number> {
  if (typeof body !== 'function' && (typeof body !== 'string' || body.length <= SLICE)) {
    await writeFile(path, body, signal ? { signal } : {});
    return typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  }
  const fh = await open(path, 'w');
  let bytes = 0;
  try {
    for (const piece of typeof body === 'function' ? body() : stringSlices(body, SLICE)) {
      signal?.throwIfAborted();
      bytes += await writeAll(fh, piece);
    }
  } finally {
    await fh.close();
  }
  return bytes;
}

/**
 * Writes one piece whole. A string goes to the file through a native buffer freed right after the
 * write, not a Buffer left for the garbage collector; a short write (rare) finishes from bytes.
 */
async function writeAll(fh: FileHandle, piece: string | Uint8Array): Promise<number> {
  const b = typeof piece === 'string' ? undefined : piece;
  const n = b ? b.byteLength : Buffer.byteLength(piece as string);
  let done = b ? (await fh.write(b, 0, n)).bytesWritten : (await fh.write(piece as string, null, 'utf8')).bytesWritten;
  if (done < n) {
    const rest = b ?? Buffer.from(piece as string, 'utf8');
    while (done < n) done += (await fh.write(rest, done, n - done)).bytesWritten;
  }
  return n;
}


/** Writes to a local path (relative paths resolve against `deps.baseDir`, else the cwd). */
export class FileSink implements Sink {
  readonly location: Location & { kind: 'file' };
  private readonly path: string;

  constructor(location: Location & { kind: 'file' }, private readonly deps: SinkDeps = {}) {
    this.location = location;
    this.path = resolve(deps.baseDir ?? process.cwd(), location.path);
  }

  async write(body: SinkBody, _contentType: string, signal?: AbortSignal): Promise<SinkResult> {
    const tmp = `${this.path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true });
      const bytes = await writeBody(tmp, body, signal);
      await rename(tmp, this.path);
      return { location: this.path, ok: true, bytes };
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      return failed(this.path, e, this.deps.secrets);
    }
  }
}
