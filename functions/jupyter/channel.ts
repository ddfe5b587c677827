/**
 * The kernel channel: one WebSocket (ws) to `/api/kernels/{id}/channels?session_id=S`
 * carrying shell/iopub/stdin/control messages: binary frames of the v1 subprotocol where the
 * server agreed to it (channel-v1.ts, channel-open.ts), else JSON text frames (binary frames
 * with buffers are decoded too). Validates every frame; reports an unexpected close.
 *
 * Spec: docs/jupyter-protocol.md and
 * https://jupyter-server.readthedocs.io/en/latest/developers/websocket-protocols.html
 * @module
 */
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import { NbtError } from '../errors.js';
import { noteGarbage } from '../patches/gc-hint.js';
import { binaryFrame, decodeFrame, type DiscardTest, type FrameJson } from './channel-frames.js';
import { openChannelSocket, type ChannelOptions } from './channel-open.js';
import { encodeV1Frame, splitV1Frame } from './channel-v1.js';
import type { Channel, Message } from './messages.js';

export { preloadWebSocket, type ChannelOptions } from './channel-open.js';

/** ws's readyState for an open socket. */
const OPEN = 1;

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
    /** The v1 subprotocol was agreed (channel-v1.ts): binary frames both ways. */
    readonly v1: boolean,
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
        msg = this.decode(data as Buffer, isBinary);
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
    return openChannelSocket(
      opts,
      ({ ws, socket, v1, maxPayload }) => new KernelChannel(ws, socket, v1, opts.maxStringBytes, maxPayload),
    );
  }

  /**
   * One frame as a message. On v1 every frame is binary and its channel is the server's; a text
   * frame is the default protocol's JSON, a binary one its buffers layout.
   */
  private decode(data: Buffer, isBinary: boolean): Message {
    let json: FrameJson = data;
    let buffers: Buffer[] = [];
    let channel: Channel | undefined;
    if (isBinary && this.v1) {
      const v1 = splitV1Frame(data);
      ({ buffers, channel } = v1);
      json = v1;
    } else if (isBinary) ({ json, buffers } = binaryFrame(data));
    noteGarbage(data.length);
    const msg = decodeFrame(json, isBinary && (!this.v1 || buffers.length > 0), this.maxStringBytes, this.discard);
    if (channel) msg.channel = channel;
    if (buffers.length > 0) msg.buffers = buffers;
    return msg;
  }

  private encode(m: Message): Buffer | string {
    return this.v1 ? encodeV1Frame(m) : JSON.stringify(m);
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

  /** Sends one message (a JSON text frame, or a binary frame on v1). */
  send(m: Message): void {
    this.ws.send(this.encode(m));
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
      for (const m of ms) this.ws.send(this.encode(m));
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
