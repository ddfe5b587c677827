/**
 * Atomic replacement of a local file: the content goes to a hidden temporary file in the same
 * directory, which is then renamed over the target (rename is atomic within one file system), so a
 * reader sees the old file or the new one, never half of one; the temporary file is removed on any
 * failure. Used by the file sink and the local run and lease stores.
 *
 * Spec: https://pubs.opengroup.org/onlinepubs/9799919799/functions/rename.html
 * @module
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A fresh hidden temporary path beside `path` (listings that skip dot files skip it). */
export function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** `write` fills a temporary file beside `path`, which then replaces `path`; resolves with what `write` returned. */
export async function replaceAtomically<T>(path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = tempPathBeside(path);
  try {
    const result = await write(tmp);
    await rename(tmp, path);
    return result;
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

/** Writes `text` to `path` atomically and durably (fsync before the rename). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await replaceAtomically(path, async (tmp) => {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}
