/**
 * The message grammar: parses both forms of a run request (encode.ts writes them, so the deploy
 * module writes exactly what the function reads; a round-trip test holds the two together). Pure: no I/O.
 *
 * Classic form (byte-compatible with
 * `gcloud pubsub topics publish T --message="HOST:PORT /nb.ipynb --use-https --verbose"`): whitespace-split
 * tokens, positionals first, `JUPYTER_SERVER`/`JUPYTER_NOTEBOOK` fill missing ones.
 * Rich form: a JSON object (see {@link RICH_FIELDS}); checks of single fields are in rich-fields.ts.
 * Spec: docs/function.md.
 * @module
 */
import { NbtError } from '../errors.js';
import type { Parameters, ParamValue } from '../notebook/translators/values.js';
import { clipRedacted } from '../redact.js';
import { hasScheme, parseSourceRef, shownUrl, type ExternalRef } from '../sources/source-ref.js';
import { clip, parseServer, type ServerAddress } from './address.js';
import { checkText, exactParameters } from './json-checks.js';
import { nonEmpty, normalizeFolder, parseTimeouts } from './rich-fields.js';

/** JSON values allowed as notebook parameters (numbers kept exact: `1.0` stays a float). */
export type JsonValue = ParamValue;

/** Per-run time limits in seconds; absent means the runner's default. */
export interface Timeouts {
  /** How long to wait for the server to answer (cold start). */
  startSeconds?: number;
  /** Longest a single cell may run. */
  cellSeconds?: number;
  /** Longest the whole run may take. */
  runSeconds?: number;
}

/** A parsed, validated request to run one notebook. Carries no secret. */
export interface RunRequest {
  server: ServerAddress;
  /**
   * Path of the notebook relative to the server root, no leading slash, ends in `.ipynb`; for a
   * notebook read elsewhere, its URL as recorded (`source` holds the reference).
   */
  notebook: string;
  /** The notebook's source when it is not the server's own file (gs://, https://, file://). */
  source?: ExternalRef;
  /** The server has only kernels (no contents API): nothing is read from or written to its files. */
  kernelOnly?: boolean;
  /**
   * The kernel's working folder on the server (relative to its root); default: the notebook's
   * folder, or the server's.
   */
  kernelCwd?: string;
  verbose: boolean;
  kernelName?: string;
  sequential?: boolean;
  timeouts: Timeouts;
  parameters?: Parameters;
  output?: string;
  runKey?: string;
}

/** Environment variables the grammar reads. */
export interface GrammarEnv {
  JUPYTER_SERVER?: string;
  JUPYTER_NOTEBOOK?: string;
  [key: string]: string | undefined;
}

/** Fields of the rich (JSON) form, with their expected types. `token` is refused on purpose. */
export const RICH_FIELDS = {
  server: 'string',
  notebook: 'string',
  useHttps: 'boolean',
  verbose: 'boolean',
  kernelName: 'string',
  sequential: 'boolean',
  timeouts: 'object',
  parameters: 'object',
  output: 'string',
  runKey: 'string',
  kernelOnly: 'boolean',
  kernelCwd: 'string',
} as const;

const CLASSIC_FLAGS = new Set(['--use-https', '--verbose']);

/**
 * Largest message data accepted, in bytes once decoded: Pub/Sub's own limit on a message
 * (https://cloud.google.com/pubsub/quotas, 10 MB), checked on the base64 text before it is decoded
 * or parsed, so nothing larger is ever decoded, whatever delivers it.
 */
export const MAX_DATA_BYTES = 10_000_000;

/** Decodes Pub/Sub `data` (base64 of UTF-8 text), validating both layers. */
export function decodeData(data: unknown): string {
  if (data === undefined || data === null || data === '') throw msgError('data', 'message data is empty');
  if (typeof data !== 'string') throw msgError('data', `message data must be a base64 string, got ${typeof data}`);
  // Base64 is 4 characters per 3 bytes. The first check (with room for whitespace, which the
  // decoder skips) keeps a huge string from being copied at all.
  if (data.length > Math.ceil(MAX_DATA_BYTES / 3) * 4 * 1.1) {
    throw msgError('data', `message data is larger than ${MAX_DATA_BYTES} bytes (Pub/Sub's limit)`);
  }
  const compact = data.replace(/\s+/g, '');
  if (compact.length > Math.ceil(MAX_DATA_BYTES / 3) * 4) {
    throw msgError('data', `message data is larger than ${MAX_DATA_BYTES} bytes (Pub/Sub's limit)`);
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw msgError('data', `message data is not base64 (got "${clip(data, 40)}")`);
  }
  const bytes = Buffer.from(compact, 'base64');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw msgError('data', 'message data is not valid UTF-8 text');
  }
}

/** Parses message text (already base64-decoded) in either form. */
export function parseMessage(text: string, env: GrammarEnv = {}): RunRequest {
  const trimmed = text.trim();
  if (trimmed === '') throw msgError('data', 'message data is empty');
  // A message may hold the token by mistake: what an error quotes of it is redacted before it is cut.
  const secrets = env.JUPYTER_TOKEN ? [env.JUPYTER_TOKEN] : [];
  const quote = (s: string, max = 80): string => clipRedacted(s, max, secrets);
  try {
    if (trimmed.startsWith('{')) return parseRich(trimmed, env, quote);
    return parseClassic(trimmed, env, quote);
  } catch (e) {
    // Anything the message itself causes is a bad message, never INTERNAL (which means a bug of ours).
    if (e instanceof RangeError) throw msgError('data', `message is malformed: ${e.message}`);
    throw e;
  }
}

/** Quotes a piece of the message in an error: cut, and with the token redacted. */
export type Quote = (s: string, max?: number) => string;

function parseClassic(text: string, env: GrammarEnv, quote: Quote): RunRequest {
  const tokens = text.split(/\s+/).filter(Boolean);
  const positionals: string[] = [];
  const flags = new Set<string>();
  for (const t of tokens) {
    if (t.startsWith('-')) {
      // A flag's value is never echoed: it may be a secret (`--token=…`).
      const name = t.includes('=') ? `${t.slice(0, t.indexOf('='))}=…` : t;
      if (!CLASSIC_FLAGS.has(t)) {
        throw msgError(
          quote(name, 40),
          `unknown flag "${quote(name, 40)}" (known: ${[...CLASSIC_FLAGS].join(', ')}; ` +
            'richer options need the JSON form)',
        );
      }
      flags.add(t);
    } else {
      if (flags.size > 0) {
        throw msgError(quote(t, 40), `positional "${quote(t, 40)}" after a flag: write HOST:PORT /path.ipynb first`);
      }
      positionals.push(t);
    }
  }
  if (positionals.length > 2)
    throw msgError('data', `expected at most 2 positionals (HOST:PORT /path.ipynb), got ${positionals.length}`);
  let serverText: string | undefined;
  let notebookText: string | undefined;
  if (positionals.length === 2) [serverText, notebookText] = positionals;
  else if (positionals.length === 1) {
    // A host never contains "/", so a lone positional with one (or ending in .ipynb) is the notebook.
    const p = positionals[0]!;
    if (p.includes('/') || p.toLowerCase().endsWith('.ipynb')) notebookText = p;
    else serverText = p;
  }
  const useHttps = flags.has('--use-https');
  const server =
    serverText !== undefined ? parseServer(serverText, useHttps, 'HOST:PORT', false) : fromEnvServer(env, useHttps);
  const notebookField = notebookText === undefined ? 'JUPYTER_NOTEBOOK' : 'notebook';
  return {
    server,
    ...notebookRef(notebookText ?? fromEnvNotebook(env), notebookField, quote),
    verbose: flags.has('--verbose'),
    timeouts: {},
  };
}

function parseRich(text: string, env: GrammarEnv, quote: Quote): RunRequest {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    throw msgError('data', `message starts with "{" but is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw msgError('data', 'JSON message must be an object');
  const o = obj as Record<string, unknown>;
  checkText(o);
  for (const [key, value] of Object.entries(o)) {
    if (key === 'token')
      throw msgError(
        'token',
        'a token is never accepted in a message; set JUPYTER_TOKEN (or a secret) on the function',
      );
    // Own keys only: "__proto__", "constructor" and the like are unknown fields, not Object.prototype's.
    const want = Object.hasOwn(RICH_FIELDS, key) ? RICH_FIELDS[key as keyof typeof RICH_FIELDS] : undefined;
    if (want === undefined) {
      throw msgError(
        quote(key, 40),
        `unknown field "${quote(key, 40)}" (known: ${Object.keys(RICH_FIELDS).join(', ')})`,
      );
    }
    const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    if (got !== want) throw msgError(key, `field "${key}" must be a ${want}, got ${got}`);
  }
  const useHttps = o.useHttps === true;
  const server =
    typeof o.server === 'string' ? parseServer(o.server, useHttps, 'server') : fromEnvServer(env, useHttps);
  const ref = notebookRef(
    typeof o.notebook === 'string' ? o.notebook : fromEnvNotebook(env),
    typeof o.notebook === 'string' ? 'notebook' : 'JUPYTER_NOTEBOOK',
    quote,
  );
  const req: RunRequest = { server, ...ref, verbose: o.verbose === true, timeouts: parseTimeouts(o.timeouts, quote) };
  if (typeof o.kernelOnly === 'boolean') req.kernelOnly = o.kernelOnly;
  if (typeof o.kernelCwd === 'string') req.kernelCwd = normalizeFolder(o.kernelCwd, 'kernelCwd', quote);
  if (req.kernelOnly === true && req.source === undefined) {
    throw msgError(
      'notebook',
      'kernelOnly: a kernel-only server has no files; name the notebook as gs://, https:// or file://',
    );
  }
  if (typeof o.kernelName === 'string') req.kernelName = nonEmpty(o.kernelName, 'kernelName');
  if (typeof o.sequential === 'boolean') req.sequential = o.sequential;
  // Re-read with exact numbers so `1.0` reaches the kernel as a float and big integers stay whole.
  if (o.parameters !== undefined) req.parameters = exactParameters(text);
  if (typeof o.output === 'string') req.output = nonEmpty(o.output, 'output');
  if (typeof o.runKey === 'string') req.runKey = nonEmpty(o.runKey, 'runKey');
  return req;
}

function fromEnvServer(env: GrammarEnv, useHttps: boolean): ServerAddress {
  const s = env.JUPYTER_SERVER;
  if (s === undefined || s.trim() === '')
    throw msgError('HOST:PORT', 'no server in the message and JUPYTER_SERVER is not set');
  return parseServer(s, useHttps, 'JUPYTER_SERVER');
}

function fromEnvNotebook(env: GrammarEnv): string {
  const s = env.JUPYTER_NOTEBOOK;
  if (s === undefined || s.trim() === '')
    throw msgError('notebook', 'no notebook path in the message and JUPYTER_NOTEBOOK is not set');
  return s;
}

/**
 * The notebook as a request holds it: a server path normalised, or an external reference
 * (sources/source-ref.ts) with its recorded URL as `notebook`.
 */
function notebookRef(text: string, field: string, quote: Quote): { notebook: string; source?: ExternalRef } {
  // Only a URL is a source here: `./`, `../` and `~/` stay server paths (and are refused as such).
  if (!hasScheme(text)) return { notebook: normalizeNotebookPath(text, field, quote) };
  const ref = parseSourceRef(text, { field });
  if (ref.kind === 'server') return { notebook: normalizeNotebookPath(ref.path, field, quote) };
  return { notebook: shownUrl(ref), source: ref };
}

/**
 * Normalizes a notebook path to the form the contents API takes: no leading slash, `/` separators,
 * ends in `.ipynb`, no `..` or empty segments, no control characters.
 */
export function normalizeNotebookPath(path: string, field = 'notebook', quote: Quote = clip): string {
  const p = path.trim().replace(/^\/+/, '');
  if (p === '') throw msgError(field, `${field}: notebook path is empty`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(p))
    throw msgError(field, `${field}: notebook path has a control character or backslash`);
  const segments = p.split('/');
  if (segments.some((s) => s === '..' || s === '.' || s === '')) {
    throw msgError(field, `${field}: notebook path "${quote(path)}" must not contain "..", "." or "//"`);
  }
  if (!p.toLowerCase().endsWith('.ipynb'))
    throw msgError(field, `${field}: notebook path "${quote(path)}" does not end in .ipynb`);
  return p;
}

function msgError(field: string, message: string): NbtError {
  return new NbtError('BAD_MESSAGE', message, { details: { field } });
}
