/**
 * Local-file sink: creates missing directories and writes atomically (a temporary file in the same
 * directory, then a rename), so a reader never sees half a notebook and a crash leaves no partial file.
 *
 * Spec: docs/function.md (a local path; default `runs/{notebook}/{date}-{runId}.ipynb`).
 * @module
 */
import { mkdir, open, realpath, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { replaceAtomically } from '../atomic-write.js';
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

/**
 * Refuses a path outside `root`, by name and by where symbolic links lead: the deepest folder of
 * it that exists must resolve inside `root` (checked before missing folders are made, and again
 * after). The file itself is replaced by a rename, which never follows a link.
 */
async function checkConfined(path: string, root: string): Promise<void> {
  const inside = (p: string, r: string): boolean => p === r || p.startsWith(r.endsWith(sep) ? r : `${r}${sep}`);
  const base = resolve(root);
  if (!inside(dirname(path), base)) throw new Error(`${path} is outside ${base}`);
  await mkdir(base, { recursive: true }); // the operator's folder (it may not exist yet)
  let dir = dirname(path);
  let real: string | undefined;
  while (real === undefined) {
    try {
      real = await realpath(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dir === base || dirname(dir) === dir) throw e;
      dir = dirname(dir);
    }
  }
  const top = await realpath(base);
  if (!inside(real, top)) throw new Error(`${dir} leads outside ${base} (a symbolic link)`);
}

/** Writes to a local path (relative paths resolve against `deps.baseDir`, else the cwd). */
export class FileSink implements Sink {
  readonly location: Location & { kind: 'file' };
  private readonly path: string;

  constructor(
    location: Location & { kind: 'file' },
    private readonly deps: SinkDeps = {},
  ) {
    this.location = location;
    this.path = resolve(deps.baseDir ?? process.cwd(), location.path);
  }

  async write(body: SinkBody, _contentType: string, signal?: AbortSignal): Promise<SinkResult> {
    try {
      if (this.deps.confineTo !== undefined) await checkConfined(this.path, this.deps.confineTo);
      await mkdir(dirname(this.path), { recursive: true });
      if (this.deps.confineTo !== undefined) await checkConfined(this.path, this.deps.confineTo);
      const bytes = await replaceAtomically(this.path, (tmp) => writeBody(tmp, body, signal));
      return { location: this.path, ok: true, bytes };
    } catch (e) {
      return failed(this.path, e, this.deps.secrets);
    }
  }
}
