/**
 * Local-file sink: creates missing directories and writes atomically (a temporary file in the same
 * directory, then a rename), so a reader never sees half a notebook and a crash leaves no partial file.
 *
 * Spec: issue 3 "Sinks" (a local path; default `runs/{notebook}/{date}-{runId}.ipynb`).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Location } from './location.js';
import { failed, type Sink, type SinkDeps, type SinkResult } from './sink.js';

/** Text is written in 1 MiB slices: a large notebook is never converted to bytes all at once. */
const SLICE = 1 << 20;

async function writeChunked(path: string, body: string | Uint8Array, signal?: AbortSignal): Promise<void> {
  if (typeof body !== 'string' || body.length <= SLICE) {
    await writeFile(path, body, signal ? { signal } : {});
    return;
  }
  const fh = await open(path, 'w');
  try {
    let i = 0;
    while (i < body.length) {
      signal?.throwIfAborted();
      // A slice may end between the halves of a surrogate pair: keep the pair together.
      let end = Math.min(body.length, i + SLICE);
      const last = body.charCodeAt(end - 1);
      if (end < body.length && last >= 0xd800 && last <= 0xdbff) end--;
      await fh.write(body.slice(i, end));
      i = end;
    }
  } finally {
    await fh.close();
  }
}

/** Writes to a local path (relative paths resolve against `deps.baseDir`, else the cwd). */
export class FileSink implements Sink {
  readonly location: Location & { kind: 'file' };
  private readonly path: string;

  constructor(location: Location & { kind: 'file' }, private readonly deps: SinkDeps = {}) {
    this.location = location;
    this.path = resolve(deps.baseDir ?? process.cwd(), location.path);
  }

  async write(body: string | Uint8Array, _contentType: string, signal?: AbortSignal): Promise<SinkResult> {
    const tmp = `${this.path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true });
      await writeChunked(tmp, body, signal);
      await rename(tmp, this.path);
      return { location: this.path, ok: true, bytes: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength };
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      return failed(this.path, e, this.deps.secrets);
    }
  }
}
