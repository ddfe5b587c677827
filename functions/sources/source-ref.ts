/**
 * Notebook references, pure: classifies what a message or the command line names as the notebook
 * and canonicalises it, so the allowlist (security/sources.ts), the reader and the run record all
 * see one spelling.
 *
 * - `/path/nb.ipynb` or `path/nb.ipynb`: the Jupyter server's own file (the contents API);
 * - `file:///abs/nb.ipynb`, or (command line only) `./`, `../`, `~/` paths: a local file;
 * - `gs://BUCKET/OBJECT.ipynb`: a Cloud Storage object (bucket names are lowercase by rule,
 *   https://cloud.google.com/storage/docs/buckets#naming; an object name is taken literally, so
 *   `.`/`..` segments are refused rather than guessed at);
 * - `https://HOST[:PORT]/PATH.ipynb[?QUERY]` (and `http://`): read over HTTP. Parsed as a WHATWG URL
 *   parser reads it (https://url.spec.whatwg.org/): scheme and host lowercase, IPv4 notations and
 *   IPv6 canonical, a trailing dot dropped, `.`/`..` and `%2e` dot segments resolved; user info
 *   (`https://host@evil/`) is refused, a fragment dropped.
 *
 * A reference must end in `.ipynb` (its path, for URLs). Errors are BAD_MESSAGE naming the field.
 * @module
 */
import { posix } from 'node:path';
import { NbtError } from '../errors.js';
import { canonicalHost, clip } from '../request/address.js';

export type SourceRef =
  | { kind: 'server'; path: string }
  | { kind: 'file'; path: string; url: string }
  | { kind: 'gcs'; bucket: string; object: string; url: string }
  | { kind: 'http'; secure: boolean; host: string; port: number; pathQuery: string; url: string };

/** A reference read from somewhere other than the Jupyter server. */
export type ExternalRef = Exclude<SourceRef, { kind: 'server' }>;

export interface SourceRefOptions {
  /** Field named in errors. */
  field?: string;
  /** Allow `./`, `../`, `~/` paths (the command line), resolved against these. */
  local?: { cwd: string; home: string };
}

// https://cloud.google.com/storage/docs/buckets#naming (dotted names up to 222 characters).
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * True when `text` starts with a source scheme (`gs:`, `http:`, `https:`, `file:`): anything else,
 * `a:b/nb.ipynb` included, is a path on the server as the classic grammar always read it.
 */
export function hasScheme(text: string): boolean {
  return /^(gs|https?|file):/i.test(text.trim());
}

/** True when `text` names something other than a path on the server (a URL or a local path form). */
export function isExternalRef(text: string): boolean {
  const t = text.trim();
  return hasScheme(t) || /^(\.\.?|~)\//.test(t);
}

/**
 * Classifies and canonicalises a reference. A server path is returned as written (grammar.ts
 * normalises it); everything else in canonical form.
 */
export function parseSourceRef(text: string, o: SourceRefOptions = {}): SourceRef {
  const field = o.field ?? 'notebook';
  const t = text.trim();
  const bad = (why: string): NbtError =>
    new NbtError('BAD_MESSAGE', `${field}: ${why} (got "${clip(hideQuery(t))}")`, { details: { field } });
  if (CONTROL.test(t)) throw bad('a notebook reference has a control character');
  if (/^(\.\.?|~)\//.test(t)) {
    if (!o.local) throw bad('a relative or ~ path names a local file: only the command line reads one');
    const abs = t.startsWith('~/') ? posix.join(o.local.home, t.slice(2)) : posix.resolve(o.local.cwd, t);
    return fileRef(abs, bad);
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(t)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'server', path: t };
  if (scheme === 'file') {
    if (!/^file:\/\/\//i.test(t)) throw bad('a file URL must be absolute: file:///abs/path/nb.ipynb');
    let path: string;
    try {
      path = decodeURIComponent(t.slice('file://'.length).replace(/[?#].*$/s, ''));
    } catch {
      throw bad('malformed percent-encoding');
    }
    return fileRef(path, bad);
  }
  if (scheme === 'gs') return gcsRef(t, bad);
  if (scheme === 'http' || scheme === 'https') return httpRef(t, bad);
  throw bad(`scheme "${scheme}" is not a notebook source (a server path, file://, gs://, https://)`);
}

function fileRef(path: string, bad: (why: string) => NbtError): SourceRef {
  if (!path.startsWith('/')) throw bad('a file path must be absolute');
  if (path.includes('\u0000') || CONTROL.test(path)) throw bad('a file path has a control character');
  const abs = posix.normalize(path);
  if (!abs.toLowerCase().endsWith('.ipynb')) throw bad('the notebook does not end in .ipynb');
  return { kind: 'file', path: abs, url: `file://${encodeURI(abs).replace(/[?#]/g, encodeURIComponent)}` };
}

function gcsRef(t: string, bad: (why: string) => NbtError): SourceRef {
  const rest = t.slice('gs://'.length);
  if (!/^gs:\/\//i.test(t)) throw bad('expected gs://BUCKET/OBJECT.ipynb');
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const object = slash < 0 ? '' : rest.slice(slash + 1);
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw bad(`"${clip(bucket, 64)}" is not a bucket name (lowercase letters, digits, - _ .)`);
  }
  if (object === '') throw bad('names no object');
  if (Buffer.byteLength(object, 'utf8') > 1024) throw bad('object name is longer than 1024 bytes');
  if (object.split('/').some((s) => s === '.' || s === '..' || s === '')) {
    throw bad('an object name may not hold ".", ".." or empty segments');
  }
  if (!object.toLowerCase().endsWith('.ipynb')) throw bad('the notebook does not end in .ipynb');
  return { kind: 'gcs', bucket, object, url: `gs://${bucket}/${object}` };
}

function httpRef(t: string, bad: (why: string) => NbtError): SourceRef {
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    throw bad('not a valid URL');
  }
  if (u.username !== '' || u.password !== '' || /^[a-z]+:\/\/[^/?#]*@/i.test(t)) {
    throw bad('a URL with user info (user@host) is refused');
  }
  const secure = u.protocol === 'https:';
  const written = u.hostname;
  const host = canonicalHost(written.startsWith('[') ? written : written.replace(/\.$/, ''));
  if (host === undefined || host === '') throw bad(`"${clip(written, 64)}" is not a valid host`);
  const port = u.port === '' ? (secure ? 443 : 80) : Number(u.port);
  let decoded: string;
  try {
    decoded = decodeURIComponent(u.pathname);
  } catch {
    throw bad('malformed percent-encoding in the path');
  }
  if (!decoded.toLowerCase().endsWith('.ipynb')) throw bad('the notebook path does not end in .ipynb');
  const pathQuery = `${u.pathname}${u.search}`;
  return { kind: 'http', secure, host, port, pathQuery, url: `${originOf(secure, host, port)}${pathQuery}` };
}

/** `http(s)://host[:port]` with IPv6 in brackets and the default port left out. */
export function originOf(secure: boolean, host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `${secure ? 'https' : 'http'}://${h}${port === (secure ? 443 : 80) ? '' : `:${port}`}`;
}

/** The URL as recorded and logged: a query (a signed URL's signature) is never kept. */
export function shownUrl(ref: ExternalRef): string {
  return ref.kind === 'http' ? hideQuery(ref.url) : ref.url;
}

/** The reference with its query blanked. */
function hideQuery(s: string): string {
  return s.replace(/[?#].*$/s, (q) => (q.startsWith('?') ? '?…' : ''));
}

/**
 * The folder a notebook was read from, as an output location prefix (sinks/location.ts
 * `resolveSourceDir`): gs:// and local files, and `server:/…` for the server's own file; none for http(s).
 */
export function sourceFolder(ref: ExternalRef | undefined, serverPath?: string): string | undefined {
  if (ref === undefined) {
    const dir = posix.dirname(serverPath ?? '');
    return `server:/${dir === '.' ? '' : `${dir}/`}`;
  }
  if (ref.kind === 'gcs') {
    const dir = posix.dirname(ref.object);
    return `gs://${ref.bucket}/${dir === '.' ? '' : `${dir}/`}`;
  }
  if (ref.kind === 'file') return `${posix.dirname(ref.path).replace(/\/$/, '')}/`;
  return undefined;
}
