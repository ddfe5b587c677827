/**
 * The file system as a manifest's `include:` reads it (deploy/manifest-include.ts): a file's
 * text, bounded in size, and a folder's `.yaml`/`.yml` files in name order.
 *
 * Spec: docs/deploy.md ("Splitting a manifest").
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { ManifestSource } from '../../deploy/manifest.js';

/** Largest manifest file read: far above 1,000 notebooks (about 0.5 MiB), far below what would hurt. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/** Reads one manifest file, refusing one above {@link MAX_MANIFEST_BYTES}. */
export function readManifestText(path: string): string {
  const size = statSync(path).size;
  if (size > MAX_MANIFEST_BYTES)
    throw new Error(`${size} bytes, above the ${MAX_MANIFEST_BYTES}-byte bound of a manifest file`);
  return readFileSync(path, 'utf8');
}

export const manifestFiles: ManifestSource = {
  read: readManifestText,
  folder(path) {
    if (!statSync(path).isDirectory()) return undefined;
    return readdirSync(path)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => posix.join(path, f));
  },
};
