/**
 * Output policy, pure: which output locations a MESSAGE may choose. Whoever can publish to the
 * topic is not trusted with the function's write access, so a message's `output` is confined:
 *
 * - a local path must be relative and stays inside the runs folder: no absolute path, no `..`
 *   segment, no `file:` form, no `~`, no backslash (the file sink also refuses a folder that a
 *   symbolic link leads out of it, when it writes);
 * - a `gs://` or `server:` location must match an `ALLOWED_OUTPUTS` pattern.
 *
 * `ALLOWED_OUTPUTS` is a comma/space separated list of
 * - `gs://BUCKET` (the whole bucket) or `gs://BUCKET/PREFIX` (objects named PREFIX or PREFIX/…:
 *   the prefix ends at a `/`, so `gs://b/reports` does not allow `gs://b/reports-evil/x`);
 * - `server:` (any path on the server the notebook runs on), `server:/FOLDER` (below that
 *   folder on it), `server://HOST:PORT` or `server://HOST:PORT/FOLDER` (only when the notebook
 *   runs on that server).
 * Unset, it is the deployment's own output (`NBTRIGGER_OUTPUT`, when it is `gs://` or `server:`,
 * up to its last `/` before any placeholder) and `server:` (the notebook's own server). Set but
 * empty, a message may choose no `gs://` or `server:` output at all. The function's own
 * `NBTRIGGER_OUTPUT` and the CLI are the operator's choice and are not checked here.
 *
 * Locations are compared as parsed (`parseLocation`: bucket names are lowercase by rule, `.` and
 * `..` segments and control characters are refused there) with placeholders expanded: their
 * values never hold a `/`, so the folders a template names are the folders it writes to.
 *
 * Spec: docs/security.md (what a message may choose).
 * @module
 */
import { NbtError } from '../errors.js';
import type { ServerAddress } from '../request/address.js';
import { expandPlaceholders, outputTemplate, parseLocation, type Location } from '../sinks/location.js';

/** One `ALLOWED_OUTPUTS` entry, canonical. */
export type OutputPattern =
  | { kind: 'gcs'; bucket: string; prefix: string; text: string }
  | { kind: 'server'; server?: { host: string; port: number }; prefix: string; text: string };

const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/** Parses `ALLOWED_OUTPUTS`. Throws a CONFIG error naming a malformed entry. */
export function parseOutputAllowlist(text: string): OutputPattern[] {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(parsePattern);
}

function parsePattern(entry: string): OutputPattern {
  const bad = (why: string): NbtError =>
    new NbtError('CONFIG', `ALLOWED_OUTPUTS: "${entry.slice(0, 120)}" ${why}`, {
      details: { field: 'ALLOWED_OUTPUTS' },
    });
  if (/^gs:\/\//i.test(entry)) {
    const rest = entry.slice(5);
    const slash = rest.indexOf('/');
    const bucket = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
    if (!BUCKET.test(bucket) || bucket.includes('..')) throw bad('has no valid bucket name (gs://BUCKET[/PREFIX])');
    return { kind: 'gcs', bucket, prefix: prefixOf(slash < 0 ? '' : rest.slice(slash + 1), bad), text: entry };
  }
  if (/^server:/i.test(entry)) {
    let rest = entry.slice('server:'.length);
    let server: { host: string; port: number } | undefined;
    if (rest.startsWith('//')) {
      const m = /^\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})(\/.*)?$/.exec(rest);
      if (!m) throw bad('is not server://HOST:PORT[/FOLDER]');
      server = { host: m[1]!.replace(/^\[|\]$/g, '').toLowerCase(), port: Number(m[2]) };
      rest = m[3] ?? '';
    }
    const prefix = prefixOf(rest.replace(/^\/+/, ''), bad);
    return { kind: 'server', ...(server ? { server } : {}), prefix, text: entry };
  }
  throw bad(
    'is not gs://BUCKET[/PREFIX] or server:[//HOST:PORT][/FOLDER] ' +
      '(local outputs of a message always stay in the runs folder)',
  );
}

/** A prefix without its trailing `/`; `.`/`..` segments and placeholders are refused. */
function prefixOf(p: string, bad: (why: string) => NbtError): string {
  const prefix = p.replace(/\/+$/, '');
  if (prefix.split('/').some((s) => s === '.' || s === '..' || (s === '' && prefix !== ''))) {
    throw bad('has an empty, "." or ".." segment');
  }
  if (/[{}]/.test(prefix)) throw bad('has a placeholder (patterns are plain prefixes)');
  return prefix;
}

/**
 * The default patterns: the deployment's own `gs://`/`server:` output (its fixed part, up to the
 * last `/` before a placeholder) and the notebook's own server.
 */
export function defaultOutputAllowlist(configuredOutput: string | undefined): OutputPattern[] {
  const out: OutputPattern[] = [{ kind: 'server', prefix: '', text: 'server:' }];
  const o = configuredOutput?.trim();
  if (o && /^gs:\/\//i.test(o)) {
    const fixed = o.split('{')[0]!;
    const cut = fixed.lastIndexOf('/');
    const base = cut > 'gs://'.length ? fixed.slice(0, cut) : fixed.replace(/\/+$/, '');
    try {
      out.push(parsePattern(base));
    } catch {
      /* a malformed NBTRIGGER_OUTPUT fails when it is written, not here */
    }
  }
  return out;
}

/** The patterns in force: `ALLOWED_OUTPUTS` when set, else the defaults. */
export function outputAllowlist(
  env: { ALLOWED_OUTPUTS?: string },
  configuredOutput: string | undefined,
): OutputPattern[] {
  const text = env.ALLOWED_OUTPUTS;
  return text === undefined ? defaultOutputAllowlist(configuredOutput) : parseOutputAllowlist(text);
}

/** True when `path` is `prefix` itself or below it (`prefix` '' is everything). */
function under(path: string, prefix: string): boolean {
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * Why a message may not write to `location` (an expanded, parsed location), or undefined when it
 * may. `text` is the location as the message wrote it; `server` the server the notebook runs on.
 */
export function refusedOutput(
  location: Location,
  text: string,
  server: ServerAddress,
  patterns: OutputPattern[],
): string | undefined {
  const relative = '(use a path relative to the runs folder)';
  switch (location.kind) {
    case 'file': {
      const p = location.path;
      if (/^file:/i.test(text.trim())) return `a file: location is not allowed in a message ${relative}`;
      if (p.startsWith('/')) return `an absolute path is not allowed in a message ${relative}`;
      if (p.startsWith('~')) return 'a path starting with ~ is not allowed in a message';
      if (p.includes('\\')) return "a backslash is not allowed in a message's output path";
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(p)) return 'the output path contains a control character';
      if (p.split('/').some((s) => s === '..')) return 'a ".." segment is not allowed in a message\'s output path';
      return undefined;
    }
    case 'gcs':
      if (patterns.some((q) => q.kind === 'gcs' && q.bucket === location.bucket && under(location.object, q.prefix))) {
        return undefined;
      }
      return `gs://${location.bucket}/${location.object} is not in ALLOWED_OUTPUTS (${listed(patterns, 'gcs')})`;
    case 'server':
      if (
        patterns.some(
          (q) =>
            q.kind === 'server' &&
            under(location.path, q.prefix) &&
            (!q.server || (q.server.host === server.host.toLowerCase() && q.server.port === server.port)),
        )
      ) {
        return undefined;
      }
      return (
        `server:/${location.path} on ${server.host}:${server.port} is not in ALLOWED_OUTPUTS ` +
        `(${listed(patterns, 'server')})`
      );
  }
}

function listed(patterns: OutputPattern[], kind: OutputPattern['kind']): string {
  const mine = patterns.filter((p) => p.kind === kind).map((p) => p.text);
  return mine.length === 0 ? `no ${kind === 'gcs' ? 'gs://' : 'server:'} pattern` : mine.join(', ');
}

/**
 * Why a message may not use the output template `template`, or undefined when it may. The
 * template is checked expanded twice, with the real notebook name and two sets of values that
 * differ in every other placeholder: values hold no `/`, so a folder the patterns compare matches
 * in both only when no placeholder is in it, and then it matches for every run.
 */
export function messageOutputRefusal(
  template: string,
  notebook: string,
  server: ServerAddress,
  patterns: OutputPattern[],
): string | undefined {
  const runs = [
    { runId: 'a', date: 0, status: 'succeeded' },
    { runId: 'bb', date: 4102444799999, status: 'failed' },
  ];
  try {
    for (const v of runs) {
      const location = parseLocation(expandPlaceholders(outputTemplate(template), { notebook, ...v }));
      const why = refusedOutput(location, template, server, patterns);
      if (why !== undefined) return why;
    }
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
