/**
 * The manifest file the commands read (`plan`, `deploy`, `destroy`, `local -f`): found in its
 * default places when no `-f` is given, read (its `include:` files too), and validated by
 * deploy/manifest.ts.
 *
 * Spec: docs/deploy.md (the manifest).
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifest, type Manifest } from '../../deploy/manifest.js';
import { NbtError } from '../../functions/errors.js';
import { manifestFiles, readManifestText } from './manifest-files.js';

/** The places looked at, in order, when no `-f` is given. */
const DEFAULT_MANIFESTS = ['nbtrigger.yaml', 'infra/nbtrigger.yaml'];

/** Reads and validates the manifest `file` (the first of {@link DEFAULT_MANIFESTS} under `cwd` when undefined). */
export async function loadManifest(file: string | undefined, cwd = process.cwd()): Promise<Manifest> {
  const path = file ?? DEFAULT_MANIFESTS.find((p) => existsSync(join(cwd, p)));
  if (path === undefined)
    throw new NbtError('USAGE', 'no manifest: pass -f MANIFEST (no ./nbtrigger.yaml or ./infra/nbtrigger.yaml here)');
  let text: string;
  try {
    text = readManifestText(path);
  } catch (e) {
    throw new NbtError('CONFIG', `cannot read manifest ${path}: ${(e as Error).message}`);
  }
  return parseManifest(text, path, manifestFiles);
}
