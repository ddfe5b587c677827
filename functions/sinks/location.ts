/**
 * Output locations, pure: placeholder expansion (`{notebook}`, `{runId}`, `{date}`, `{status}`) and
 * parsing of the three location kinds (a local path, `gs://bucket/object`, `server:/path`).
 * No I/O here: the sinks that write live beside this file.
 *
 * Placeholder values are made safe before they are substituted: a value can never contain a path
 * separator, a scheme colon, `..`, or a control character, so it can add no directory level and
 * cannot escape the directory the template names. The template itself is the operator's choice.
 *
 * Spec: docs/function.md (`--output` / message field `output`, placeholders, default
 * `runs/{notebook}/{date}-{runId}.ipynb`).
 * @module
 */
import { NbtError } from '../errors.js';

/** The default output template in local mode, relative to the output root. */
export const DEFAULT_OUTPUT_TEMPLATE = 'runs/{notebook}/{date}-{runId}.ipynb';

/** The default template below an output root (the run records' folder): `{notebook}/{date}-{runId}.ipynb`. */
export const DEFAULT_OUTPUT_SUFFIX = '{notebook}/{date}-{runId}.ipynb';

/**
 * An output ending in `/` is a folder or prefix (`gs://bucket/reports/`, `out/`): the notebook goes below
 * it as {@link DEFAULT_OUTPUT_SUFFIX}, so every run gets its own object. Anything else is used as given.
 */
export function outputTemplate(output: string): string {
  return output.endsWith('/') ? `${output}${DEFAULT_OUTPUT_SUFFIX}` : output;
}

/**
 * `{sourceDir}` at the start of a template is the folder the notebook was read from, as a location
 * (`gs://bucket/folder/`, a local folder, or `server:/folder/` for the server's own file), so
 * `{sourceDir}/out/{notebook}.ipynb` writes next to the source. Resolved before the other
 * placeholders (and before a message's output is checked): `folder` is undefined for a source that
 * cannot be written to (https), which makes such a template a usage error.
 */
export function resolveSourceDir(template: string, folder: string | undefined): string {
  if (!template.includes('{sourceDir}')) return template;
  if (!template.startsWith('{sourceDir}') || template.indexOf('{sourceDir}', 1) >= 0) {
    throw usage('{sourceDir} may appear once, at the start of the output location');
  }
  if (folder === undefined)
    throw usage("{sourceDir}: the notebook's source cannot be written to (use a path or gs://)");
  return `${folder.replace(/\/+$/, '')}/${template.slice('{sourceDir}'.length).replace(/^\/+/, '')}`;
}

/** The placeholders a template may use. */
const PLACEHOLDERS = ['notebook', 'runId', 'date', 'status'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** Values for the placeholders; raw (unsafe) values are fine, they are made safe here. */
export interface PlaceholderValues {
  /** Notebook path as given (`reports/daily.ipynb`); `{notebook}` becomes its file name stem (`daily`). */
  notebook: string | null;
  runId: string;
  /** Start of the run; `{date}` becomes `2026-01-21T23-49-30.123Z` (UTC; see {@link formatDate}). */
  date: Date | string | number;
  status: string;
}

/** Where a sink writes. */
export type Location =
  | { kind: 'file'; path: string }
  | { kind: 'gcs'; bucket: string; object: string }
  | { kind: 'server'; path: string };

const MAX_VALUE_LENGTH = 100;

/**
 * Makes one placeholder value safe as a single path segment: anything but ASCII letters, digits, `.`,
 * `_` and `-` becomes `_`, leading dots become one `_` (so `.` and `..` cannot appear), an empty value
 * becomes `fallback`, and long values are cut at 100 characters. The same rule as the local run
 * store's folder names, so a default output sits beside its run record.
 */
export function safeSegment(value: string, fallback = '_'): string {
  const s = value.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
  return s === '' ? fallback : s.slice(0, MAX_VALUE_LENGTH);
}

/**
 * `{date}` text: the run's start in UTC, `YYYY-MM-DDTHH-MM-SS.mmmZ` (ISO 8601 with `-` for `:`:
 * sortable, safe in any file system).
 */
export function formatDate(d: Date | string | number): string {
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) throw new NbtError('INTERNAL', `invalid date for {date}: ${String(d)}`);
  return date.toISOString().replace(/:/g, '-');
}

/**
 * `{notebook}` text: the notebook's file name without `.ipynb`, made safe; `_unknown` when nothing
 * of it is a letter or digit (no name, or only dots and punctuation).
 */
export function notebookStem(notebook: string | null): string {
  const path = (notebook ?? '').replace(/^\/+/, '').replace(/\.ipynb$/i, '');
  const s = safeSegment(path.slice(path.lastIndexOf('/') + 1), '_unknown');
  return /[A-Za-z0-9]/.test(s) ? s : '_unknown';
}

/**
 * Substitutes the placeholders in `template`. An unknown `{name}` is a usage error (a typo should not
 * become a literal directory name); a `{` that does not open a placeholder is kept as is.
 */
export function expandPlaceholders(template: string, values: PlaceholderValues): string {
  const known = new Set<string>(PLACEHOLDERS);
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    if (!known.has(name)) {
      throw new NbtError(
        'USAGE',
        `unknown placeholder {${name}} in output location (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`,
        { details: { field: 'output' } },
      );
    }
    switch (name as Placeholder) {
      case 'notebook':
        return notebookStem(values.notebook);
      case 'runId':
        return safeSegment(values.runId);
      case 'date':
        return formatDate(values.date);
      case 'status':
        return safeSegment(values.status);
    }
  });
}

// Bucket names: https://cloud.google.com/storage/docs/buckets#naming (dotted names up to 222).
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

function usage(message: string): NbtError {
  return new NbtError('USAGE', message, { details: { field: 'output' } });
}

/** Rejects `.`/`..` segments and control characters in a slash-separated path. */
function checkSegments(path: string, what: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) throw usage(`${what} contains a control character`);
  for (const seg of path.split('/')) {
    if (seg === '.' || seg === '..') throw usage(`${what} may not contain "${seg}" segments: ${JSON.stringify(path)}`);
  }
}

/**
 * Parses an (expanded) location. `gs://bucket/object`, `server:/path` (relative to the Jupyter
 * server's root; a leading `/` is optional), `file:///abs/path` or `file:rel/path`, anything else a
 * local path. Other `scheme://` forms are refused, so `s3://x` is not silently written as a local file.
 * Throws a USAGE {@link NbtError} (the message handler maps it to BAD_MESSAGE).
 */
export function parseLocation(text: string): Location {
  const s = text.trim();
  if (s === '') throw usage('output location is empty');
  if (s.startsWith('gs://')) {
    const rest = s.slice(5);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const object = slash < 0 ? '' : rest.slice(slash + 1);
    if (!BUCKET.test(bucket) || bucket.includes('..')) throw usage(`invalid bucket name in ${JSON.stringify(s)}`);
    if (object === '' || object.endsWith('/'))
      throw usage(`${JSON.stringify(s)} names no object (add a file name after the bucket)`);
    if (Buffer.byteLength(object, 'utf8') > 1024) throw usage('object name is longer than 1024 bytes');
    checkSegments(object, 'object name');
    return { kind: 'gcs', bucket, object };
  }
  if (s.startsWith('server:')) {
    const path = s.slice('server:'.length).replace(/^\/+/, '');
    if (path === '' || path.endsWith('/')) throw usage(`${JSON.stringify(s)} names no file on the server`);
    checkSegments(path, 'server path');
    return { kind: 'server', path };
  }
  if (s.startsWith('file://')) {
    const path = decodeURIComponent(s.slice('file://'.length));
    if (!path.startsWith('/')) throw usage(`file:// location must be absolute: ${JSON.stringify(s)}`);
    return { kind: 'file', path };
  }
  if (s.startsWith('file:')) return { kind: 'file', path: s.slice('file:'.length) };
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s))
    throw usage(
      `unsupported output location scheme: ${JSON.stringify(s.split('://')[0])} (use a path, gs:// or server:)`,
    );
  // eslint-disable-next-line no-control-regex
  if (/[\u0000]/.test(s)) throw usage('output path contains a NUL character');
  return { kind: 'file', path: s };
}

/** Renders a location back to its text form (what results and records show). */
export function formatLocation(l: Location): string {
  switch (l.kind) {
    case 'gcs':
      return `gs://${l.bucket}/${l.object}`;
    case 'server':
      return `server:/${l.path}`;
    case 'file':
      return l.path;
  }
}

/**
 * The location of a companion file next to an output: `.ipynb` is replaced by `ext` (for example
 * `.html`), or `ext` is appended when the name has no `.ipynb` ending.
 */
export function siblingLocation(l: Location, ext: string): Location {
  const swap = (p: string): string => (/\.ipynb$/i.test(p) ? p.replace(/\.ipynb$/i, ext) : `${p}${ext}`);
  switch (l.kind) {
    case 'gcs':
      return { ...l, object: swap(l.object) };
    case 'server':
      return { ...l, path: swap(l.path) };
    case 'file':
      return { ...l, path: swap(l.path) };
  }
}
