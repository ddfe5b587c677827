/**
 * Source allowlist, pure: which notebook sources a MESSAGE may read (default deny). `ALLOWED_SOURCES`
 * is a comma/space separated list of prefixes, each parsed by the same rules as a reference
 * (sources/source-ref.ts), so a pattern and a source are compared in one canonical spelling:
 *
 * - `gs://BUCKET/` or `gs://BUCKET/PREFIX/`: objects of that bucket below that folder;
 * - `https://HOST[:PORT]/PATH/` (or `http://`): URLs of that origin below that path (an exact host:
 *   its addresses may be private, as an exact ALLOWED_SERVERS pattern allows; metadata servers never);
 * - `file:///FOLDER/`: local files below that folder (the function's own file system).
 *
 * A prefix ends at a `/`: `gs://b/reports` allows `gs://b/reports/x.ipynb`, not `gs://b/reports-evil/x.ipynb`.
 * Unset, the list is the bucket of the deployment's `NBTRIGGER_OUTPUT` when that is `gs://`; else
 * empty. Paths on the Jupyter server itself are not sources in this sense (ALLOWED_SERVERS decides).
 *
 * Spec: docs/security.md (source allowlist).
 * @module
 */
import { NbtError } from '../errors.js';
import { canonicalHost } from '../request/address.js';
import { expandPlaceholders, outputTemplate, parseLocation, type Location } from '../sinks/location.js';
import { originOf, type ExternalRef } from '../sources/source-ref.js';

/** One `ALLOWED_SOURCES` entry, canonical: `scheme://authority` and a path prefix ending in `/`. */
export interface SourcePattern {
  origin: string;
  prefix: string;
  text: string;
}

const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/** The folder of the deployment's bucket that `source: bucket` notebooks are uploaded to (docs/deploy.md). */
export const DEPLOYMENT_NOTEBOOKS = 'notebooks/';

/** Parses `ALLOWED_SOURCES`. Throws a CONFIG error naming a malformed entry. */
export function parseSourceAllowlist(text: string): SourcePattern[] {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(parsePattern);
}

function parsePattern(entry: string): SourcePattern {
  const bad = (why: string): NbtError =>
    new NbtError('CONFIG', `ALLOWED_SOURCES: "${entry.slice(0, 120)}" ${why}`, {
      details: { field: 'ALLOWED_SOURCES' },
    });
  const folder = (p: string): string => {
    const f = p.endsWith('/') ? p : `${p}/`;
    if (
      f
        .split('/')
        .slice(1, -1)
        .some((s) => s === '.' || s === '..' || s === '')
    ) {
      throw bad('has an empty, "." or ".." segment');
    }
    return f;
  };
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(\/.*)?$/.exec(entry);
  if (!m) throw bad('is not gs://BUCKET/[PREFIX/], https://HOST[:PORT]/[PATH/] or file:///FOLDER/');
  const scheme = m[1]!.toLowerCase();
  const authority = m[2]!;
  const path = m[3] ?? '/';
  if (/[?#%\\]/.test(path)) {
    throw bad('has a query, fragment, backslash or percent-encoding (patterns are plain prefixes)');
  }
  if (scheme === 'gs') {
    if (!BUCKET.test(authority) || authority.includes('..')) throw bad('has no valid bucket name (lowercase)');
    return { origin: `gs://${authority}`, prefix: folder(path), text: entry };
  }
  if (scheme === 'file') {
    if (authority !== '') throw bad('must be file:///FOLDER/ (an absolute folder)');
    return { origin: 'file://', prefix: folder(path), text: entry };
  }
  if (scheme === 'http' || scheme === 'https') {
    if (authority.includes('@')) throw bad('has user info');
    if (/[*]/.test(authority)) throw bad('has a wildcard (source patterns name an exact host)');
    let u: URL;
    try {
      u = new URL(`${scheme}://${authority}/`);
    } catch {
      throw bad('has no valid host');
    }
    const host = canonicalHost(u.hostname.startsWith('[') ? u.hostname : u.hostname.replace(/\.$/, ''));
    if (!host) throw bad('has no valid host');
    const secure = scheme === 'https';
    const port = u.port === '' ? (secure ? 443 : 80) : Number(u.port);
    // The path prefix as a URL parser writes it (percent-encoded the same way as a source's).
    const canonicalPath = new URL(`${scheme}://x${folder(path)}`).pathname;
    return { origin: originOf(secure, host, port), prefix: canonicalPath, text: entry };
  }
  throw bad(`has scheme "${scheme}" (gs, https, http or file)`);
}

/** The default: the bucket of `NBTRIGGER_OUTPUT` when it is `gs://`; else nothing. */
export function defaultSourceAllowlist(configuredOutput: string | undefined): SourcePattern[] {
  const m = /^gs:\/\/([^/{]+)/i.exec(configuredOutput?.trim() ?? '');
  if (!m) return [];
  try {
    return [parsePattern(`gs://${m[1]!}/${DEPLOYMENT_NOTEBOOKS}`)];
  } catch {
    return [];
  }
}

/** The patterns in force: `ALLOWED_SOURCES` when set, else the default. */
export function sourceAllowlist(
  env: { ALLOWED_SOURCES?: string },
  configuredOutput: string | undefined,
): SourcePattern[] {
  const text = env.ALLOWED_SOURCES;
  return text === undefined ? defaultSourceAllowlist(configuredOutput) : parseSourceAllowlist(text);
}

/** Origin and path of a canonical reference, as patterns are compared. */
function originAndPath(ref: ExternalRef): { origin: string; path: string } {
  switch (ref.kind) {
    case 'gcs':
      return { origin: `gs://${ref.bucket}`, path: `/${ref.object}` };
    case 'file':
      return { origin: 'file://', path: ref.path };
    case 'http':
      return { origin: originOf(ref.secure, ref.host, ref.port), path: ref.pathQuery.replace(/\?.*$/s, '') };
  }
}

/** Why a message may not read `ref`, or undefined when a pattern allows it. */
export function refusedSource(ref: ExternalRef, patterns: SourcePattern[]): string | undefined {
  const { origin, path } = originAndPath(ref);
  if (patterns.some((p) => p.origin === origin && path.startsWith(p.prefix))) return undefined;
  const listed = patterns.length === 0 ? 'none set' : patterns.map((p) => p.text).join(', ');
  return `${origin}${path} is not in ALLOWED_SOURCES (${listed})`;
}

/** Throws SOURCE_NOT_ALLOWED unless a pattern allows `ref`. */
export function checkSource(ref: ExternalRef, patterns: SourcePattern[]): void {
  const why = refusedSource(ref, patterns);
  if (why !== undefined) {
    throw new NbtError('SOURCE_NOT_ALLOWED', `notebook source refused: ${why}`, { details: { field: 'notebook' } });
  }
}

/**
 * Refuses a message's output that would write where notebooks are read from (inside the source
 * allowlist) under a name that is the same for every run: such a message could replace a notebook
 * that later runs read. A name holding `{runId}` (random for each run) is a file of the run's own,
 * next to the sources (`{sourceDir}/out/{notebook}-{runId}.ipynb`, or a folder: the default name
 * ends in the run id).
 */
export function outputOverSourcesRefusal(
  template: string,
  notebook: string,
  patterns: SourcePattern[],
): string | undefined {
  if (patterns.length === 0) return undefined;
  const at = (runId: string): Location =>
    parseLocation(expandPlaceholders(outputTemplate(template), { notebook, runId, date: 0, status: 'succeeded' }));
  let a: Location;
  let b: Location;
  try {
    [a, b] = [at('a'), at('bb')];
  } catch {
    return undefined; // a malformed output is refused by the output checks, with their message
  }
  const inside = (l: Location): boolean =>
    patterns.some(
      (p) =>
        (l.kind === 'gcs' && p.origin === `gs://${l.bucket}` && `/${l.object}`.startsWith(p.prefix)) ||
        (l.kind === 'file' && p.origin === 'file://' && `${l.path}`.startsWith(p.prefix)),
    );
  if (!inside(a) && !inside(b)) return undefined;
  if (JSON.stringify(a) !== JSON.stringify(b)) return undefined;
  return (
    `"${template.slice(0, 200)}" is inside ALLOWED_SOURCES and names the same file on every run: ` +
    'put {runId} in the name (a run may not replace a notebook that runs read)'
  );
}
