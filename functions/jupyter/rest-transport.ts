/**
 * The HTTP transport under the Jupyter Server REST client (rest.ts): one keep-alive undici pool
 * per server, opened through the run's connector, `Authorization: token <T>` (lowercase, as
 * Kernel/Enterprise Gateway require) and the run's cookies on every request, response bodies read
 * within a size bound, JSON answers parsed and every failure classified into an {@link NbtError}.
 *
 * Spec: https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html and
 * docs/jupyter-protocol.md.
 * @module
 */
import { Readable } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';
import { isNbtError, NbtError } from '../errors.js';
import { pieceBytes } from '../notebook/json-pieces.js';
import { loadUndici } from '../patches/undici-lean.js';
import { headerSecrets } from '../redact.js';
import { httpBase, type ServerAddress } from '../request/address.js';
import { type Connector, undiciConnect } from '../security/connector.js';
import type { CookieJar } from './cookie-jar.js';
import { httpError, isFrontRefusal, networkError, serverMessage } from './http-errors.js';

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

/** Requests to one Jupyter server: the pool, the headers, bounded bodies, classified failures. */
export class RestTransport {
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
  protected contact(
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

  protected async json(
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
export interface BodyBound {
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
export class StreamedJson {
  constructor(readonly pieces: () => Iterable<string | Uint8Array>) {}
}

function* utf8(pieces: Iterable<string | Uint8Array>): Generator<Uint8Array, void, undefined> {
  for (const p of pieces) yield pieceBytes(p);
}
