/**
 * The kernel channel: one WebSocket (ws) to `/api/kernels/{id}/channels?session_id=S`
 * carrying shell/iopub/stdin/control messages as JSON text frames (binary frames with
 * buffers are decoded too). Validates every frame; reports an unexpected close.
 *
 * Spec: docs/jupyter-protocol.md and
 * https://jupyter-server.readthedocs.io/en/latest/developers/websocket-protocols.html
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
import type { CookieJar } from './cookie-jar.js';
import { noteGarbage } from '../patches/gc-hint.js';
import { binaryFrame, decodeFrame, type DiscardTest } from './channel-frames.js';
import type { Message } from './messages.js';

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
  /** The largest frame accepted (ws buffers a frame whole before it is parsed): see {@link frameLimit}. */
  maxPayload?: number;
  signal?: AbortSignal;
}

/** ws's readyState for an open socket. */
const OPEN = 1;

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

export type MessageListener = (m: Message) => void;
export type { DiscardTest } from './channel-frames.js';
/** Called once when the channel ends without `close()` having been called. */
export type CloseListener = (err: NbtError) => void;

/** An open kernel channel. */
export class KernelChannel {
  private closedByUs = false;
  /** An unsolicited pong is due (one per event-loop turn that brought frames). */
  private ackDue = false;
  private onMessage?: MessageListener;
  private onClose?: CloseListener;
  /**
   * What arrived before `listen()`: a server replaying its buffer to a reconnecting client may
   * send it in the same packets as the upgrade response, before the opener gets the channel.
   */
  private early: Message[] = [];
  private earlyClose?: NbtError;
  private discard?: DiscardTest;

  private constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket | undefined,
    private readonly maxStringBytes?: number,
    maxPayload?: number,
  ) {
    ws.on('message', (data, isBinary) => {
      if (!this.ackDue) {
        this.ackDue = true;
        setImmediate(this.ack);
      }
      let msg: Message;
      try {
        const frame = isBinary ? binaryFrame(data as Buffer) : undefined;
        const json = frame ? frame.json : (data as Buffer);
        noteGarbage(json.length);
        msg = decodeFrame(json, isBinary, this.maxStringBytes, this.discard);
        if (frame && frame.buffers.length > 0) msg.buffers = frame.buffers;
      } catch (e) {
        this.fail(e as NbtError);
        return;
      }
      if (this.onMessage) this.onMessage(msg);
      else this.early.push(msg);
    });
    ws.on('close', (code, reason) => {
      if (!this.closedByUs)
        this.fail(
          new NbtError(
            'KERNEL_DIED',
            'kernel channel closed unexpectedly ' +
              `(WebSocket code ${code}${reason.length ? `: ${reason.toString()}` : ''})`,
          ),
        );
    });
    ws.on('error', (e: Error & { code?: string }) => {
      if (this.closedByUs) return;
      // A frame over the limit would be too big again on a redelivery: a permanent protocol error.
      if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        const why =
          `a kernel message is larger than the frame limit of ${maxPayload} bytes ` +
          '(set from the output cap and NBTRIGGER_MEMORY_BUDGET_MB)';
        this.fail(new NbtError('PROTOCOL_ERROR', why, { cause: e, retryable: false, details: { maxPayload } }));
      } else this.fail(new NbtError('KERNEL_DIED', `kernel channel failed: ${e.message}`, { cause: e }));
    });
  }

  /** Opens the channel; resolves once the server has accepted the upgrade. */
  static async connect(opts: ChannelOptions): Promise<KernelChannel> {
    const kernel = encodeURIComponent(opts.kernelId);
    const path = `/api/kernels/${kernel}/channels?session_id=${encodeURIComponent(opts.sessionId)}`;
    const url = `${wsBase(opts.server)}${path}`;
    const WebSocket = await preloadWebSocket();
    if (opts.signal?.aborted) throw cancelledBy(opts.signal);
    // The handshake never outlasts the run's deadline.
    const left = opts.deadline === undefined ? Infinity : opts.deadline - Date.now();
    if (left <= 0) throw pastDeadline();
    const handshakeTimeout = Math.max(1, Math.min(opts.connectTimeoutMs ?? 30_000, left));
    const maxPayload = opts.maxPayload ?? 512 * 1024 * 1024;
    return new Promise((resolve, reject) => {
      let socket: Socket | undefined;
      const ws = new WebSocket(url, {
        // ws's own connectors (or the guard's), keeping the socket so that a burst of frames can be corked into one
        // write.
        // The guard's hands the socket over only once its peer passed the policy: the upgrade request is written then.
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
        resolve(new KernelChannel(ws, socket, opts.maxStringBytes, maxPayload));
      });
      ws.once('error', (e) => {
        opts.signal?.removeEventListener('abort', onAbort);
        // Our own abort terminates the handshake, which ws reports as an error: it is a cancellation.
        if (opts.signal?.aborted) return reject(cancelledBy(opts.signal));
        if (isNbtError(e)) reject(e);
        else if (opts.deadline !== undefined && Date.now() >= opts.deadline - 10) reject(pastDeadline());
        else reject(new NbtError('SERVER_UNREACHABLE', `kernel channel could not connect: ${e.message}`, { cause: e }));
      });
    });
  }

  /** Sets the listeners (one of each; the executor owns the channel while it runs). */
  listen(onMessage: MessageListener, onClose: CloseListener, discard?: DiscardTest): void {
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.discard = discard;
    const early = this.early;
    this.early = [];
    for (const m of early) onMessage(m);
    if (this.earlyClose) onClose(this.earlyClose);
  }

  /** Sends one message as a JSON text frame. */
  send(m: Message): void {
    this.ws.send(JSON.stringify(m));
  }

  /**
   * Sends several messages back to back (pipelining). The socket is corked meanwhile, so the
   * frames leave in one write instead of one syscall (and one wake-up of the server) per frame.
   */
  sendAll(ms: Message[]): void {
    if (ms.length === 0) return;
    const s = ms.length > 1 ? this.socket : undefined;
    s?.cork();
    try {
      for (const m of ms) this.ws.send(JSON.stringify(m));
    } finally {
      s?.uncork();
    }
  }

  get open(): boolean {
    return this.ws.readyState === OPEN;
  }

  /** Closes the channel; later close events are not reported as failures. */
  close(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    try {
      this.ws.close(1000);
    } catch {
      /* already closing */
    }
    // Do not wait for the close handshake of a dead peer.
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  /**
   * Acknowledges what arrived at once with an unsolicited pong (RFC 6455 §5.5.3: no answer is
   * expected). Jupyter Server leaves Nagle's algorithm on for the kernel WebSocket, so each small
   * frame it writes while an earlier one is unacknowledged waits for our ACK, which Linux delays
   * up to 40 ms: that stall hit every cell sent alone and the last frames of every run. The pong's
   * segment carries the ACK right away.
   */
  private readonly ack = (): void => {
    this.ackDue = false;
    if (!this.closedByUs && this.ws.readyState === OPEN) this.ws.pong();
  };

  private fail(err: NbtError): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    this.ws.terminate();
    if (this.onClose) this.onClose(err);
    else this.earlyClose = err;
  }
}

function pastDeadline(): NbtError {
  return new NbtError('TIMEOUT', 'the run deadline passed while the kernel channel was opening');
}

/** The error an aborted signal stands for: its reason when that is an NbtError, else CANCELLED. */
function cancelledBy(signal: AbortSignal): NbtError {
  return isNbtError(signal.reason) ? signal.reason : new NbtError('CANCELLED', 'run cancelled');
}
