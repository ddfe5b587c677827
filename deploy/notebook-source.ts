/**
 * A notebook's `source:` in the manifest: the Cloud Storage folder deploy uploads the notebook to,
 * under a content-addressed name, so that a notebook change needs no image rebuild (the Scheduler
 * job's message names the uploaded object). The bucket and object names are checked against the
 * Cloud Storage naming rules (deploy/rules.ts) before any call. Pure: no I/O.
 *
 * Spec: docs/deploy.md ("Notebooks in Cloud Storage").
 * @module
 */
import { posix } from 'node:path';
import { type FieldReader, typeName } from './fields.js';
import { RULES, violationText, type Violation } from './rules.js';

/** Where a notebook is uploaded, and (once its file has been read) the object it is uploaded as. */
export interface NotebookSource {
  bucket: string;
  /** The folder inside the bucket: empty, or ending in `/`. */
  prefix: string;
  /** The notebook file on the deployer's machine: `file:` joined to the folder of the manifest naming it. */
  file: string;
  /** `PREFIX/NAME-HASH.ipynb`, set when the file has been read (deploy/notebook-upload.ts). */
  object?: string;
  /** SHA-256 of the file's bytes, hex; set with `object`. */
  sha256?: string;
}

/** The folder `source: bucket` means: `notebooks/` in the deployment's bucket. */
const DEFAULT_PREFIX = 'notebooks/';
/** Hex digits of the SHA-256 kept in an object name: 64 bits, no collision among a deployment's notebooks. */
const HASH_DIGITS = 16;

/**
 * The deployment's bucket: the one `infra/setup.sh` makes (`BUCKET`, default `PROJECT-nbtrigger-runs`)
 * and `cloudbuild.yaml` gives the function (`_OUTPUT_BUCKET`, same default). A deployment that sets
 * another bucket there names it in `source: gs://BUCKET/PREFIX/`.
 */
export function deploymentBucket(project: string): string {
  return `${project}-nbtrigger-runs`;
}

/** The object a notebook of content hash `sha256` (hex) is uploaded as. */
export function sourceObjectName(prefix: string, notebook: string, sha256: string): string {
  return `${prefix}${notebook}-${sha256.slice(0, HASH_DIGITS)}.ipynb`;
}

/** `gs://BUCKET/OBJECT`. */
export function sourceUri(bucket: string, object: string): string {
  return `gs://${bucket}/${object}`;
}

/** `file:` of a `source:` notebook: a file on the deployer's machine, relative to the manifest (`..` allowed). */
export const SOURCE_FILE = {
  pattern: /^(?![/\\])[^\0]+\.ipynb$/,
  expect: 'a path to an .ipynb file, relative to the manifest',
};

/** The `path` of a `source:` notebook (unused: its messages name the object): the file's name. */
export function sourceServerPath(file: string | undefined): string | undefined {
  return file === undefined ? undefined : posix.basename(file);
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** "google" and close misspellings (digits for letters): https://cloud.google.com/storage/docs/buckets#naming. */
const GOOGLE_LIKE = /g[o0]{2}g[l1]e/;

/** Every Cloud Storage bucket-name rule `name` breaks. */
export function bucketNameViolations(name: string): Violation[] {
  const out: Violation[] = [];
  const v = (rule: Violation['rule']): void => void out.push({ field: 'bucket', rule, found: `bucket "${name}"` });
  if (!/^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/.test(name)) v(RULES.bucketNameChars);
  const parts = name.split('.');
  if (name.length < 3 || name.length > (parts.length > 1 ? 222 : 63) || parts.some((p) => p.length > 63))
    v(RULES.bucketNameLength);
  if (IPV4.test(name) || name.startsWith('goog') || GOOGLE_LIKE.test(name)) v(RULES.bucketNameReserved);
  return out;
}

/** Every Cloud Storage object-name rule `name` breaks. */
export function objectNameViolations(name: string): Violation[] {
  const out: Violation[] = [];
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes < 1 || bytes > 1024)
    out.push({ field: 'object', rule: RULES.objectNameLength, found: `object name of ${bytes} bytes` });
  if (/[\r\n]/.test(name) || name === '.' || name === '..' || name.startsWith('.well-known/acme-challenge/')) {
    out.push({ field: 'object', rule: RULES.objectNameChars, found: `object "${name.replace(/[\r\n]/g, ' ')}"` });
  }
  return out;
}

/**
 * Reads `source:` (`gs://BUCKET/PREFIX/`, or `bucket`: {@link deploymentBucket} with `notebooks/`),
 * checking the bucket and the object names it leads to. `at` says where the notebook is written.
 */
export function readSource(
  v: unknown,
  path: string,
  r: FieldReader,
  at: { project: string | undefined; manifestFile: string; file: string | undefined; notebook: string | undefined },
): NotebookSource | undefined {
  if (v === undefined) return undefined;
  const expect =
    'a Cloud Storage folder gs://BUCKET/PREFIX/, or "bucket" (the deployment\'s bucket, folder notebooks/)';
  const text = r.string(v, path, { expect });
  if (text === undefined) return undefined;
  let bucket: string;
  let prefix: string;
  if (text === 'bucket') {
    bucket = deploymentBucket(at.project ?? 'project');
    prefix = DEFAULT_PREFIX;
  } else {
    const m = /^gs:\/\/([^/]*)(?:\/(.*))?$/s.exec(text);
    if (!m) return r.problem(path, `expected ${expect}, got ${typeName(v)}`);
    bucket = m[1]!;
    prefix = m[2] ?? '';
    if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
    // nbtrigger's own: a folder reads one way only (no empty, "." or ".." segment).
    if (
      prefix !== '' &&
      prefix
        .slice(0, -1)
        .split('/')
        .some((s) => s === '' || s === '.' || s === '..')
    ) {
      return r.problem(path, `expected a folder without "//", "." or ".." segments, got ${typeName(v)}`);
    }
  }
  const problems = [
    ...bucketNameViolations(bucket),
    ...objectNameViolations(sourceObjectName(prefix, at.notebook ?? 'x', '0'.repeat(64))),
  ];
  for (const x of problems) r.problem(path, violationText(x));
  if (problems.length > 0 || at.file === undefined) return undefined;
  return { bucket, prefix, file: posix.join(posix.dirname(at.manifestFile), at.file) };
}
