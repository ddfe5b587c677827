/**
 * The kernel channel's opening handshake: the WebSocket upgrade to
 * `/api/kernels/{id}/channels?session_id=S`, through the run's connector, bounded by the connect
 * timeout and the run's deadline, with the subprotocol agreed.
 *
 * The channel offers `v1.kernel.websocket.jupyter.org` (channel-v1.ts): Jupyter Server picks it when
 * it has it (its default preference), and the kernel's messages then cross the server undecoded. A
 * server without it (an older server, `ServerApp.kernel_ws_protocol = ''`, a gateway) answers with
 * no subprotocol, which ws refuses: the handshake is made again without the offer, and that server
 * is remembered for the process's later channels (a warm function instance asks once).
 *
 * Spec: https://jupyter-server.readthedocs.io/en/latest/developers/websocket-protocols.html,
 * RFC 6455 §4.1 (a client fails a connection whose server answers with no subprotocol it offered
 * or with one it did not).
 * @module
 */
import { createRequire } from 'node:module';
import { connect as netConnect, isIP, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import { isNbtError, NbtError } from '../errors.js';
import { wsBase, type ServerAddress } from '../request/address.js';
import { httpCreateConnection, type Connector } from '../security/connector.js';
import { V1_PROTOCOL } from './channel-v1.js';
import type { CookieJar } from './cookie-jar.js';

export interface ChannelOptions {
  /** Strings longer than this (bytes) in a frame are cut before decoding: the output cap + 1. */
  maxStringBytes?: number;
  /** Opens the connection (the function's SSRF guard: security/connector.ts); default: a plain socket. */
  connector?: Connector;
  server: ServerAddress;
  kernelId: string;
  sessionId: string;
  /** Headers for the upgrade request (Authorization and any extra). */
  headers: Record<string, string>;
  /** The run's cookie jar: sent on the upgrade, and what the upgrade's answer sets is kept (session affinity). */
  cookies?: CookieJar;
  connectTimeoutMs?: number;
  /** The run's deadline (ms since epoch): the opening handshake never waits past it. */
  deadline?: number;
  /** The largest frame accepted (ws buffers a frame whole before it is parsed): see frameLimit in channel-frames.ts. */
  maxPayload?: number;
  signal?: AbortSignal;
}

/** An accepted upgrade: the socket, the connection under it, and whether v1 was agreed. */
export interface OpenedSocket {
  ws: WebSocket;
  socket: Socket | undefined;
  v1: boolean;
  maxPayload: number;
}

let wsLoading: Promise<typeof WebSocket> | undefined;
const requireCjs = createRequire(import.meta.url);

/**
 * Loads ws (once). It is off the module's import path (ws pulls in http, https, tls and zlib);
 * the runner calls this when a run begins, so the load overlaps the kernel's start: it runs on
 * the next turn of the event loop, once the run's first requests are under way. ws is
 * CommonJS: `require` (createRequire) loads it in ≈3.5 ms where `import('ws')` took ≈15 (Node
 * lexes a CommonJS file for its exports before an ESM import).
 */
export function preloadWebSocket(): Promise<typeof WebSocket> {
  wsLoading ??= new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        resolve(requireCjs('ws') as typeof WebSocket);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    }),
  );
  return wsLoading;
}

/** Servers (WebSocket base URLs) that answered the v1 offer with no subprotocol. */
const legacyServers = new Set<string>();
/** What ws says when the server agreed to no subprotocol of those offered. */
const NO_SUBPROTOCOL = 'Server sent no subprotocol';
/** What ws says when the upgrade's answer did not come within handshakeTimeout. */
const HANDSHAKE_TIMEOUT = 'Opening handshake has timed out';

/**
 * Opens the channel's WebSocket; resolves, once the server has accepted the upgrade, to what `take`
 * makes of it. `take` runs in ws's `open` event, before the frames that came with the upgrade's
 * answer are emitted (a reconnecting server replays its buffer at once): its listeners miss none.
 */
export async function openChannelSocket<T>(opts: ChannelOptions, take: (s: OpenedSocket) => T): Promise<T> {
  const base = wsBase(opts.server);
  if (!legacyServers.has(base)) {
    try {
      return await handshake(opts, base, true, take);
    } catch (e) {
      if (!(isNbtError(e) && e.details?.noSubprotocol === true)) throw e;
      legacyServers.add(base);
    }
  }
  return handshake(opts, base, false, take);
}

function handshake<T>(opts: ChannelOptions, base: string, offerV1: boolean, take: (s: OpenedSocket) => T): Promise<T> {
  const kernel = encodeURIComponent(opts.kernelId);
  const path = `/api/kernels/${kernel}/channels?session_id=${encodeURIComponent(opts.sessionId)}`;
  const url = `${base}${path}`;
  return preloadWebSocket().then((WebSocket) => {
    if (opts.signal?.aborted) throw cancelledBy(opts.signal);
    // The handshake never outlasts the run's deadline.
    const left = opts.deadline === undefined ? Infinity : opts.deadline - Date.now();
    if (left <= 0) throw pastDeadline();
    const handshakeTimeout = Math.max(1, Math.min(opts.connectTimeoutMs ?? 30_000, left));
    const maxPayload = opts.maxPayload ?? 512 * 1024 * 1024;
    return new Promise<T>((resolve, reject) => {
      let socket: Socket | undefined;
      const ws = new WebSocket(url, offerV1 ? [V1_PROTOCOL] : [], {
        // ws's own connectors (or the guard's), keeping the socket so that a burst of frames can be
        // corked into one write. The guard's hands the socket over only once its peer passed the
        // policy: the upgrade request is written then.
        createConnection: (opts.connector
          ? httpCreateConnection(opts.connector, opts.server.secure, (s) => {
              socket = s;
            })
          : (o: Record<string, unknown> & { host: string; servername?: string }) => {
              if (opts.server.secure) {
                if (!o.servername && o.servername !== '') o.servername = isIP(o.host) ? '' : o.host;
                socket = tlsConnect({ ...o, path: undefined } as ConnectionOptions);
              } else {
                socket = netConnect({ ...o, path: o.socketPath } as unknown as NetConnectOpts);
              }
              return socket;
            }) as unknown as ClientOptions['createConnection'],
        headers: opts.cookies ? opts.cookies.withCookies(opts.headers, path) : opts.headers,
        perMessageDeflate: false,
        handshakeTimeout,
        maxPayload,
      });
      const onAbort = (): void => {
        ws.terminate();
        const reason: unknown = opts.signal?.reason;
        reject(isNbtError(reason) ? reason : new NbtError('CANCELLED', 'run cancelled'));
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      ws.once('upgrade', (res) => opts.cookies?.store(res.headers['set-cookie'], path));
      ws.once('unexpected-response', (_req, res) => {
        opts.cookies?.store(res.headers['set-cookie'], path);
        const status = res.statusCode ?? 0;
        res.resume();
        ws.terminate();
        if (opts.signal?.aborted) return reject(cancelledBy(opts.signal));
        const code =
          status === 401 || status === 403 ? 'AUTH_REFUSED' : status === 404 ? 'KERNEL_DIED' : 'SERVER_ERROR';
        reject(new NbtError(code, `kernel channel upgrade refused: HTTP ${status}`, { details: { status } }));
      });
      ws.once('open', () => {
        opts.signal?.removeEventListener('abort', onAbort);
        ws.removeAllListeners('error');
        ws.removeAllListeners('unexpected-response');
        ws.removeAllListeners('upgrade');
        ws.setMaxListeners(0);
        resolve(take({ ws, socket, v1: ws.protocol === V1_PROTOCOL, maxPayload }));
      });
      ws.once('error', (e) => {
        opts.signal?.removeEventListener('abort', onAbort);
        // Our own abort terminates the handshake, which ws reports as an error: it is a cancellation.
        if (opts.signal?.aborted) return reject(cancelledBy(opts.signal));
        if (isNbtError(e)) reject(e);
        else if (opts.deadline !== undefined && Date.now() >= opts.deadline - 10) reject(pastDeadline());
        else if (offerV1 && e.message === NO_SUBPROTOCOL) {
          reject(
            new NbtError('PROTOCOL_ERROR', 'the server agreed to no subprotocol', { details: { noSubprotocol: true } }),
          );
        } else if (e.message === HANDSHAKE_TIMEOUT) {
          // Jupyter Server answers the upgrade once the kernel has answered it: a kernel that never
          // started holds the upgrade (so does a stalled link). No cell ran: retryable.
          const why =
            `kernel channel could not connect: the upgrade was not answered in ${seconds(handshakeTimeout)} s ` +
            '(the server answers it once the kernel answers: a kernel that did not start, or a stalled link)';
          reject(new NbtError('SERVER_UNREACHABLE', why, { cause: e, details: { neverAnswered: true } }));
        } else {
          reject(new NbtError('SERVER_UNREACHABLE', `kernel channel could not connect: ${e.message}`, { cause: e }));
        }
      });
    });
  });
}

function pastDeadline(): NbtError {
  return new NbtError('TIMEOUT', 'the run deadline passed while the kernel channel was opening');
}

/** The error an aborted signal stands for: its reason when that is an NbtError, else CANCELLED. */
export function cancelledBy(signal: AbortSignal): NbtError {
  return isNbtError(signal.reason) ? signal.reason : new NbtError('CANCELLED', 'run cancelled');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
