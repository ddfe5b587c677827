/**
 * A run's cookie jar, for one origin: the cookies the server's front sets (Cloud Run's session
 * affinity cookie, `GOOGAPPUID`, or any other) are sent back on every later request of the same
 * run — REST calls, the kernel WebSocket's handshake and its reconnects, the kernel's deletion,
 * the contents write-back and nbconvert — so that all of them reach the instance that holds the
 * kernel. One jar per run, never shared: a jar belongs to the run that made it.
 *
 * A subset of RFC 6265 §5.2–5.4, enough to be correct for a single origin: `name=value`,
 * `Expires`, `Max-Age` (wins over Expires), `Domain` (must domain-match the origin's host, else
 * the cookie is ignored), `Path` (default: the request path's directory; sent on path-match),
 * `Secure` (kept from and sent to an https origin only, as RFC 6265bis §5.6 says). Bounded: at
 * most {@link MAX_COOKIES} cookies of at most {@link MAX_COOKIE_BYTES} bytes each (RFC 6265 §6.1's
 * minimums), the oldest evicted first; a longer Set-Cookie line is ignored.
 *
 * Cookies may be credentials: a jar never prints its values (toJSON, inspect), and {@link
 * CookieJar.secrets} gives them to the redaction of error messages.
 *
 * Spec: https://www.rfc-editor.org/rfc/rfc6265; https://cloud.google.com/run/docs/configuring/session-affinity.
 * @module
 */
import { inspect } from 'node:util';

/** Most cookies a jar keeps (RFC 6265 §6.1: at least 50 per domain). */
export const MAX_COOKIES = 50;
/** Largest cookie kept, name + value + attributes, bytes (RFC 6265 §6.1: at least 4096). */
export const MAX_COOKIE_BYTES = 4096;

interface Cookie {
  name: string;
  value: string;
  path: string;
  secure: boolean;
  /** ms since epoch; Infinity: a session cookie (the run is the session). */
  expires: number;
  created: number;
}

/** The cookies one run's front has set, sent back on the run's requests to the same origin. */
export class CookieJar {
  readonly #host: string;
  readonly #secureOrigin: boolean;
  readonly #now: () => number;
  #cookies: Cookie[] = [];
  #serial = 0;
  /** A request of first contact is in flight (see {@link exchange}). */
  #firstContact?: Promise<void>;
  /** The front has set its cookie, or answered 2xx without one: requests need not wait any more. */
  #contacted = false;

  /** `origin`: the server's base URL (`https://host[:port]`). */
  constructor(origin: string, now: () => number = Date.now) {
    const u = new URL(origin);
    this.#host = u.hostname.toLowerCase().replace(/^\[|\]$/g, '');
    this.#secureOrigin = u.protocol === 'https:' || u.protocol === 'wss:';
    this.#now = now;
  }

  /** Stores what a response's `Set-Cookie` header(s) set, for a request to `requestPath`. */
  store(setCookie: string | readonly string[] | undefined, requestPath: string): void {
    if (setCookie === undefined) return;
    for (const line of typeof setCookie === 'string' ? [setCookie] : setCookie) this.storeOne(line, requestPath);
  }

  /** The `Cookie` header value for a request to `path`, or undefined when no cookie applies. */
  header(path: string): string | undefined {
    const now = this.#now();
    this.#cookies = this.#cookies.filter((c) => c.expires > now);
    const p = pathOnly(path);
    const sent = this.#cookies
      .filter((c) => pathMatch(p, c.path) && (!c.secure || this.#secureOrigin))
      // RFC 6265 §5.4 step 2: longer paths first, then the earlier created.
      .sort((a, b) => b.path.length - a.path.length || a.created - b.created);
    return sent.length === 0 ? undefined : sent.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** `headers` with the jar's `cookie` header for `path` added (a copy; unchanged when none applies). */
  withCookies(headers: Readonly<Record<string, string>>, path: string): Record<string, string> {
    const value = this.header(path);
    return value === undefined ? { ...headers } : { ...headers, cookie: value };
  }

  /**
   * Sends one request of the run to `path` (`send`, given `headers` with the run's cookies) and
   * keeps what its answer sets. Until the front has set a cookie, or answered 2xx without one
   * (it sets none), the run's requests go one at a time: sent side by side, each would be given an
   * instance of its own, and the kernel would start on one that the later requests do not reach.
   * A request cancelled while it waits goes on at once (its client rejects it unsent).
   */
  async exchange<R extends Answer>(
    path: string,
    headers: Readonly<Record<string, string>>,
    send: (headers: Record<string, string>) => Promise<R>,
    signal?: AbortSignal,
  ): Promise<R> {
    while (!this.#contacted && this.#firstContact && !signal?.aborted) await untilEither(this.#firstContact, signal);
    if (this.#contacted) {
      const res = await send(this.withCookies(headers, path));
      this.store(res.headers['set-cookie'], path);
      return res;
    }
    let release!: () => void;
    this.#firstContact = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      const res = await send(this.withCookies(headers, path));
      this.store(res.headers['set-cookie'], path);
      if (this.#cookies.length > 0 || (res.statusCode >= 200 && res.statusCode < 300)) this.#contacted = true;
      return res;
    } finally {
      this.#firstContact = undefined;
      release();
    }
  }

  /** How many cookies it holds (unexpired or not). */
  get size(): number {
    return this.#cookies.length;
  }

  /** The values it holds (and their `name=value` forms): for the redaction of error messages. */
  secrets(): string[] {
    return this.#cookies.flatMap((c) => (c.value.length >= 4 ? [c.value, `${c.name}=${c.value}`] : []));
  }

  /** Never its values. */
  toJSON(): string {
    return `[CookieJar: ${this.#cookies.length} cookie(s)]`;
  }

  [inspect.custom](): string {
    return this.toJSON();
  }

  private storeOne(line: string, requestPath: string): void {
    if (line.length > MAX_COOKIE_BYTES || Buffer.byteLength(line) > MAX_COOKIE_BYTES) return;
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) return; // RFC 6265 §5.2 step 2: no "=" in the name-value pair: ignored
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (name === '' || /[\x00-\x1f\x7f]/.test(name + value)) return;
    const now = this.#now();
    let expires = Infinity;
    let maxAge: number | undefined;
    let path: string | undefined;
    let secure = false;
    for (const attr of attributes) {
      const i = attr.indexOf('=');
      const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
      const v = i < 0 ? '' : attr.slice(i + 1).trim();
      if (key === 'expires') {
        const t = Date.parse(v);
        if (Number.isFinite(t)) expires = t;
      } else if (key === 'max-age') {
        if (/^-?\d+$/.test(v)) maxAge = Number(v) <= 0 ? -Infinity : now + Number(v) * 1000;
      } else if (key === 'domain') {
        const d = v.replace(/^\./, '').toLowerCase();
        // A cookie for another domain than the origin's (or a parent it is not under) is ignored.
        if (d !== '' && !domainMatch(this.#host, d)) return;
      } else if (key === 'path') {
        path = v.startsWith('/') ? v : undefined;
      } else if (key === 'secure') {
        secure = true;
      }
    }
    if (secure && !this.#secureOrigin) return;
    if (maxAge !== undefined) expires = maxAge;
    const cookiePath = path ?? defaultPath(pathOnly(requestPath));
    const cookie: Cookie = { name, value, path: cookiePath, secure, expires, created: ++this.#serial };
    const same = this.#cookies.findIndex((c) => c.name === name && c.path === cookie.path);
    if (same >= 0) {
      cookie.created = this.#cookies[same]!.created; // §5.3 step 11.3: keeps its creation time
      this.#cookies.splice(same, 1);
    }
    if (expires <= now) return; // an expiry in the past deletes the cookie
    this.#cookies = this.#cookies.filter((c) => c.expires > now);
    this.#cookies.push(cookie);
    while (this.#cookies.length > MAX_COOKIES) {
      const oldest = this.#cookies.reduce((a, b) => (b.created < a.created ? b : a));
      this.#cookies.splice(this.#cookies.indexOf(oldest), 1);
    }
  }
}

/** What {@link CookieJar.exchange} reads of an answer. */
export interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
}

/** Settles when `p` settles or `signal` aborts, whichever is first (never rejects; no listener left behind). */
function untilEither(p: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return p;
  return new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    p.then(done, done);
  });
}

/** The path of a request target, without its query. */
function pathOnly(target: string): string {
  const q = target.search(/[?#]/);
  const p = q < 0 ? target : target.slice(0, q);
  return p.startsWith('/') ? p : '/';
}

/** RFC 6265 §5.1.4: the directory of the request path. */
function defaultPath(path: string): string {
  const last = path.lastIndexOf('/');
  return last <= 0 ? '/' : path.slice(0, last);
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatch(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/** RFC 6265 §5.1.3 domain-match (an IP address matches itself only). */
function domainMatch(host: string, domain: string): boolean {
  if (host === domain) return true;
  return host.endsWith(`.${domain}`) && !/^[\d.]+$/.test(host) && !host.includes(':');
}
