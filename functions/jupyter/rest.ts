/**
 * Jupyter Server REST client on undici: kernelspecs, kernels, contents. Keep-alive pool,
 * `Authorization: token <T>` (lowercase, as Kernel/Enterprise Gateway require), every
 * response validated, every failure classified into an {@link NbtError}.
 *
 * Spec: https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html and
 * docs/jupyter-protocol.md.
 * @module
 */
import { Readable } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';
import { isNbtError, NbtError } from '../errors.js';
import { jsonStringPieces, pieceBytes } from '../notebook/json-pieces.js';
import { httpBase, type ServerAddress } from '../request/address.js';
import { headerSecrets } from '../redact.js';
import { undiciConnect, type Connector } from '../security/connector.js';
import type { CookieJar } from './cookie-jar.js';
import { httpError, isFrontRefusal, networkError, serverMessage } from './http-errors.js';
import { isObject } from './messages.js';
import { loadUndici } from '../patches/undici-lean.js';

export interface KernelModel {
  id: string;
  name: string;
}

export interface KernelSpecs {
  default: string;
  /** name → language (as the spec says) */
  specs: Record<string, { language: string; displayName: string }>;
}

export interface RestOptions {
  server: ServerAddress;
  /** Empty string: send no Authorization header (a server without auth). */
  token: string;
  /** Extra headers on every request and the WebSocket upgrade (e.g. `X-Serverless-Authorization`). */
  extraHeaders?: Record<string, string>;
  /** Per-request limit on waiting for response headers and body, ms. */
  requestTimeoutMs?: number;
  /** Opens every connection (the function's SSRF guard: security/connector.ts); default: plain sockets. */
  connector?: Connector;
  /**
   * The run's cookie jar: its cookies go with every request, and what the server's front sets is
   * kept in it (Cloud Run's session affinity: docs/deploy.md). Never shared between runs.
   */
  cookies?: CookieJar;
}

/** How long a graceful close of the pool may take (every request has settled when it is called). */
const CLOSE_LIMIT_MS = 2000;

/** A small, validated REST client for one Jupyter server. */
export class JupyterRest {
  readonly base: string;
  readonly headers: Record<string, string>;
  /** Created on the first request (undici is loaded then, off the module's import path). */
  private pool?: Promise<Pool>;
  private readonly timeoutMs: number;
  private readonly connector?: Connector;
  /** The run's cookies (see {@link RestOptions.cookies}). */
  readonly cookies?: CookieJar;

  constructor(opts: RestOptions) {
    this.base = httpBase(opts.server);
    this.headers = { ...(opts.extraHeaders ?? {}) };
    if (opts.token !== '') this.headers.authorization = `token ${opts.token}`;
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.connector = opts.connector;
    this.cookies = opts.cookies;
  }

  /**
   * Sends one request (`go`, given its headers). With the run's cookie jar, the run's cookies go
   * with it, what its answer sets is kept, and the first requests go one at a time
   * ({@link CookieJar.exchange}).
   */
  private contact(
    path: string,
    go: (headers: Record<string, string>) => Promise<Dispatcher.ResponseData>,
    extra?: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const headers = extra ? { ...this.headers, ...extra } : { ...this.headers };
    return this.cookies ? this.cookies.exchange(path, headers, go, signal) : go(headers);
  }

  /** The keep-alive pool (8 connections, no pipelining, idle sockets kept 30 s). */
  private dispatcher(): Promise<Pool> {
    this.pool ??= loadUndici().then(
      (u) =>
        new u.Pool(this.base, {
          connections: 8,
          pipelining: 1,
          keepAliveTimeout: 30_000,
          connect: this.connector ? undiciConnect(this.connector) : { timeout: Math.min(this.timeoutMs, 10_000) },
        }),
    );
    return this.pool;
  }

  /** Lists kernelspecs; the first call of a run doubles as the readiness probe. */
  async kernelspecs(signal?: AbortSignal): Promise<KernelSpecs> {
    const body = await this.json('GET', '/api/kernelspecs', undefined, signal);
    if (!isObject(body) || !isObject(body.kernelspecs)) throw badResponse('/api/kernelspecs', 'kernelspecs');
    const specs: KernelSpecs['specs'] = {};
    for (const [name, v] of Object.entries(body.kernelspecs)) {
      const spec = isObject(v) && isObject(v.spec) ? v.spec : {};
      specs[name] = { language: String(spec.language ?? ''), displayName: String(spec.display_name ?? name) };
    }
    return { default: typeof body.default === 'string' ? body.default : (Object.keys(specs)[0] ?? ''), specs };
  }

  /**
   * Reads a file's text through the contents API (`type=file&format=text`), at most `maxBytes`
   * of it (UTF-8). The answer is read as it streams and cut past the bound (the JSON escaping of
   * the text is allowed for: twice the bound), so a file over it is never held whole.
   */
  async readText(path: string, signal?: AbortSignal, maxBytes = Infinity): Promise<string> {
    const url = `/api/contents/${encodePath(path)}?type=file&format=text&content=1`;
    const tooBig = (): NbtError =>
      new NbtError(
        'BAD_NOTEBOOK',
        `notebook "${path}" is larger than the cap of ${maxBytes} bytes (NBTRIGGER_MAX_NOTEBOOK_BYTES)`,
        { details: { field: 'notebook', maxBytes } },
      );
    const bound = { bytes: 2 * maxBytes + 64 * 1024, error: tooBig };
    const body = await this.json(
      'GET',
      url,
      undefined,
      signal,
      (status, message) => {
        if (status === 404)
          return new NbtError('NOTEBOOK_NOT_FOUND', `notebook "${path}" does not exist on the server`, {
            details: { status },
          });
        if (status === 400 && /directory/i.test(message))
          return new NbtError('NOTEBOOK_NOT_FOUND', `"${path}" is a directory, not a notebook`, {
            details: { status },
          });
        return undefined;
      },
      bound,
    );
    if (!isObject(body) || typeof body.content !== 'string') throw badResponse(url, 'content');
    if (body.content.length > maxBytes && Buffer.byteLength(body.content) > maxBytes) throw tooBig();
    return body.content;
  }

  /**
   * Writes a file through the contents API (PUT, `type=file`, text format). Text given in pieces is
   * sent as a streamed request body, never joined.
   */
  async writeText(
    path: string,
    text: string | (() => Iterable<string | Uint8Array>),
    signal?: AbortSignal,
  ): Promise<void> {
    const url = `/api/contents/${encodePath(path)}`;
    if (typeof text === 'string') await this.json('PUT', url, { type: 'file', format: 'text', content: text }, signal);
    else await this.json('PUT', url, new StreamedJson(() => contentsBody(text())), signal);
  }

  /**
   * Starts a kernel of the given kernelspec (undefined: the server's default). `path` (a directory
   * relative to the server root) sets the kernel's working directory; without it Jupyter Server
   * starts the kernel in its own cwd.
   */
  async startKernel(name: string | undefined, signal?: AbortSignal, path?: string): Promise<KernelModel> {
    const body = await this.json(
      'POST',
      '/api/kernels',
      { ...(name === undefined ? {} : { name }), ...(path === undefined ? {} : { path }) },
      signal,
    );
    if (!isObject(body) || typeof body.id !== 'string' || body.id === '') throw badResponse('/api/kernels', 'id');
    if (name === undefined && typeof body.name !== 'string') throw badResponse('/api/kernels', 'name');
    return { id: body.id, name: typeof body.name === 'string' ? body.name : name! };
  }

  /** Lists running kernels. */
  async listKernels(signal?: AbortSignal): Promise<KernelModel[]> {
    const body = await this.json('GET', '/api/kernels', undefined, signal);
    if (!Array.isArray(body)) throw badResponse('/api/kernels', '(array)');
    return body.filter(isObject).map((k) => ({ id: String(k.id), name: String(k.name) }));
  }

  /** Interrupts a kernel; a kernel already gone is not an error. */
  async interruptKernel(id: string, signal?: AbortSignal): Promise<void> {
    await this.json('POST', `/api/kernels/${encodeURIComponent(id)}/interrupt`, undefined, signal, gone);
  }

  /** Deletes a kernel; 404 means already gone and is success. */
  async deleteKernel(id: string, signal?: AbortSignal): Promise<void> {
    await this.json('DELETE', `/api/kernels/${encodeURIComponent(id)}`, undefined, signal, gone);
  }

  /** Creates a directory through the contents API (idempotent: an existing one is fine). */
  async makeDirectory(path: string, signal?: AbortSignal): Promise<void> {
    await this.json('PUT', `/api/contents/${encodePath(path)}`, { type: 'directory' }, signal);
  }

  /**
   * One request on the server's pool (so through its connector), answered unparsed: for
   * endpoints that do not answer JSON (nbconvert). Redirects are never followed.
   */
  async send(
    method: Dispatcher.HttpMethod,
    path: string,
    o: { body?: string; headers?: Record<string, string>; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<{ status: number; contentType: string; text: string }> {
    const [u, pool] = await Promise.all([loadUndici(), this.dispatcher()]);
    const timeout = o.timeoutMs ?? this.timeoutMs;
    try {
      const res = await this.contact(
        path,
        (headers) =>
          u.request.call(pool, {
            method,
            path,
            headers,
            body: o.body ?? null,
            signal: o.signal ?? null,
            headersTimeout: timeout,
            bodyTimeout: timeout,
          }),
        o.headers,
        o.signal,
      );
      const contentType = String(res.headers['content-type'] ?? '');
      return { status: res.statusCode, contentType, text: await res.body.text() };
    } catch (e) {
      throw networkError(e, `${method} ${path.split('?')[0]}`, this.base);
    }
  }

  /**
   * Closes the connection pool, within CLOSE_LIMIT_MS: undici's graceful close never settles
   * once a client was destroyed by a failed TLS connect while a request to it was aborted
   * (test/integration/functions/security/tls.test.ts), so past the limit the pool is destroyed.
   */
  async close(): Promise<void> {
    const pool = await this.pool?.catch(() => undefined);
    if (!pool) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(resolve, CLOSE_LIMIT_MS, 'late');
    });
    const closed = await Promise.race([pool.close().catch(() => undefined), late]);
    clearTimeout(timer);
    if (closed === 'late') await pool.destroy().catch(() => undefined);
  }

  private async json(
    method: Dispatcher.HttpMethod,
    path: string,
    payload: unknown,
    signal?: AbortSignal,
    special?: (status: number, message: string) => NbtError | undefined | null,
    bound: BodyBound = DEFAULT_BOUND,
  ): Promise<unknown> {
    const headers: Record<string, string> = {};
    let body: string | Readable | undefined;
    if (payload instanceof StreamedJson) {
      body = Readable.from(utf8(payload.pieces()), { objectMode: false });
      headers['content-type'] = 'application/json';
    } else if (payload !== undefined) {
      body = JSON.stringify(payload);
      headers['content-type'] = 'application/json';
    }
    const [u, pool] = await Promise.all([loadUndici(), this.dispatcher()]);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.contact(
        path,
        (all) =>
          u.request.call(pool, {
            method,
            path,
            headers: all,
            body: body ?? null,
            signal: signal ?? null,
            headersTimeout: this.timeoutMs,
            bodyTimeout: this.timeoutMs,
          }),
        headers,
        signal,
      );
    } catch (e) {
      throw networkError(e, `${method} ${path.split('?')[0]}`, this.base);
    }
    let text: string;
    try {
      text = await boundedText(res, bound);
    } catch (e) {
      if (isNbtError(e)) throw e;
      throw networkError(e, `${method} ${path.split('?')[0]}`, this.base);
    }
    const status = res.statusCode;
    if (status >= 200 && status < 300) {
      if (status === 204 || text === '') return null;
      try {
        return JSON.parse(text);
      } catch {
        throw new NbtError(
          'PROTOCOL_ERROR',
          `${method} ${path.split('?')[0]}: server answered ${status} with a body that is not JSON`,
        );
      }
    }
    const message = serverMessage(text, [...headerSecrets(this.headers), ...(this.cookies?.secrets() ?? [])]);
    const mapped = special?.(status, message);
    if (mapped === null) return null;
    if (mapped) throw mapped;
    throw httpError(status, `${method} ${path.split('?')[0]}`, message, {
      frontRefusal: isFrontRefusal(status, text, this.headers),
    });
  }
}

/** The most a response body may hold, and the error past it. */
interface BodyBound {
  bytes: number;
  error: () => NbtError;
}

/** Answers other than a notebook (kernelspecs, kernel models, errors) are small. */
const DEFAULT_BOUND: BodyBound = {
  bytes: 8 * 1024 * 1024,
  error: () => new NbtError('PROTOCOL_ERROR', "the server's answer is larger than 8 MiB"),
};

/**
 * A response body as text, read as it streams and abandoned (the connection closed) as soon as
 * it passes the bound, or at once when its Content-Length already does.
 */
async function boundedText(res: Dispatcher.ResponseData, bound: BodyBound): Promise<string> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > bound.bytes) {
    res.body.destroy();
    throw bound.error();
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > bound.bytes) {
      res.body.destroy();
      throw bound.error();
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, n).toString('utf8');
}

/** A JSON request body given as text pieces (sent as a stream). */
class StreamedJson {
  constructor(readonly pieces: () => Iterable<string | Uint8Array>) {}
}

/** `{"type":"file","format":"text","content":"…"}` around a text given in pieces (text or UTF-8 bytes). */
function* contentsBody(text: Iterable<string | Uint8Array>): Generator<string | Uint8Array, void, undefined> {
  yield '{"type":"file","format":"text","content":';
  const decoder = new TextDecoder('utf-8', { fatal: true });
  function* asText(): Generator<string, void, undefined> {
    for (const p of text) yield typeof p === 'string' ? p : decoder.decode(p, { stream: true });
    yield decoder.decode();
  }
  yield* jsonStringPieces(asText());
  yield '}';
}

function* utf8(pieces: Iterable<string | Uint8Array>): Generator<Uint8Array, void, undefined> {
  for (const p of pieces) yield pieceBytes(p);
}

/** Treats 404 as success (the thing is already gone). */
function gone(status: number): null | undefined {
  return status === 404 ? null : undefined;
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

function badResponse(path: string, field: string): NbtError {
  return new NbtError('PROTOCOL_ERROR', `${path}: response has no valid "${field}"`, { details: { field } });
}
