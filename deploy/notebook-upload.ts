/**
 * Notebooks with a `source:` on their way to Cloud Storage: each local file is read (bounded),
 * checked to be a notebook, and named by its content (`PREFIX/NAME-SHA256[0:16].ipynb`); plan
 * asks which of those objects exist; deploy uploads the others, each only if it still does not
 * exist (deploy/clients/storage.ts). An object never changes once written, so a running execution
 * keeps reading what it started with, and deploy deletes none.
 *
 * Spec: docs/deploy.md ("Notebooks in Cloud Storage").
 * @module
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { NbtError } from '../functions/errors.js';
import type { NotebookObjectSpec } from './desired.js';
import type { Manifest } from './manifest.js';
import { sourceObjectName, sourceUri } from './notebook-source.js';
import { DEFAULT_PACING, forEachBounded } from './pacing.js';
import type { NotebookStore } from './clients/storage.js';

/** Largest notebook file uploaded: the function's default cap on a notebook it reads (NBTRIGGER_MAX_NOTEBOOK_BYTES). */
export const MAX_NOTEBOOK_FILE_BYTES = 64 * 1024 * 1024;

/** Reads a whole file, refusing one above `max` bytes without reading past it. */
export async function readBounded(path: string, max = MAX_NOTEBOOK_FILE_BYTES): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size > max) throw new NbtError('CONFIG', `notebook ${path} is ${size} bytes, above the ${max}-byte cap`);
    const buf = Buffer.alloc(size);
    const { bytesRead } = await fh.read(buf, 0, size, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Throws unless `bytes` are a notebook: a JSON object with a numeric `nbformat` and a `cells` list. */
function checkNotebook(bytes: Buffer, file: string): void {
  let nb: unknown;
  try {
    nb = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new NbtError('CONFIG', `notebook ${file} is not JSON: ${(e as Error).message}`);
  }
  const o = nb as { nbformat?: unknown; cells?: unknown } | null;
  if (
    typeof o !== 'object' ||
    o === null ||
    typeof o.nbformat !== 'number' ||
    (o.nbformat >= 4 && !Array.isArray(o.cells))
  ) {
    throw new NbtError('CONFIG', `notebook ${file} is not a Jupyter notebook (no nbformat, or no cells list)`);
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The manifest with each `source:` notebook read and named by its content. A file that is missing,
 * too large or not a notebook is refused, naming it and the notebook.
 */
export async function readNotebookSources(
  m: Manifest,
  read: (path: string) => Promise<Buffer> = readBounded,
): Promise<Manifest> {
  if (!m.notebooks.some((nb) => nb.source)) return m;
  const notebooks = await Promise.all(
    m.notebooks.map(async (nb) => {
      const s = nb.source;
      if (s === undefined) return nb;
      let bytes: Buffer;
      try {
        bytes = await read(s.file);
      } catch (e) {
        if (e instanceof NbtError) throw e;
        throw new NbtError('CONFIG', `${m.file}: notebook ${nb.name}: cannot read ${s.file}: ${(e as Error).message}`, {
          cause: e,
        });
      }
      checkNotebook(bytes, s.file);
      const hash = sha256(bytes);
      return { ...nb, source: { ...s, sha256: hash, object: sourceObjectName(s.prefix, nb.name, hash) } };
    }),
  );
  return { ...m, notebooks };
}

/** The store, or a refusal when the clients have none (a manifest with `source:` needs one). */
export function requireStore(store: NotebookStore | undefined): NotebookStore {
  if (store === undefined)
    throw new NbtError(
      'CONFIG',
      'a notebook has a source: (Cloud Storage) but deploy was given no Cloud Storage client',
    );
  return store;
}

/** Which of the manifest's notebook objects exist (`gs://` names); one read each, a bounded number at a time. */
export async function existingNotebookObjects(store: NotebookStore | undefined, m: Manifest): Promise<Set<string>> {
  const wanted = m.notebooks.flatMap((nb) =>
    nb.source?.object ? [{ bucket: nb.source.bucket, object: nb.source.object }] : [],
  );
  const out = new Set<string>();
  if (wanted.length === 0) return out;
  const s = requireStore(store);
  await forEachBounded(wanted, DEFAULT_PACING.concurrency, async (w) => {
    if (await s.exists(w.bucket, w.object)) out.add(sourceUri(w.bucket, w.object));
  });
  return out;
}

/**
 * Uploads one notebook unless its object exists. The file is read again and must still have the
 * content the plan named (else the object would hold other bytes than its name says).
 */
export async function uploadNotebook(
  store: NotebookStore | undefined,
  n: NotebookObjectSpec,
  read: (path: string) => Promise<Buffer> = readBounded,
): Promise<'created' | 'exists'> {
  const bytes = await read(n.file);
  if (sha256(bytes) !== n.sha256) {
    throw new NbtError(
      'REQUEST_REJECTED',
      `${n.file} changed since it was planned (its content no longer matches ${n.name}): run deploy again`,
    );
  }
  return requireStore(store).createIfAbsent(n.bucket, n.object, bytes);
}
