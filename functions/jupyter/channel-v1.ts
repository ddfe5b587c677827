/**
 * Jupyter Server's `v1.kernel.websocket.jupyter.org` WebSocket subprotocol: every frame is binary,
 * `[n:u64le][offsets:u64le × n][channel][header][parent_header][metadata][content][buffers…]`, the
 * message parts exactly as the kernel packed them. The server forwards those parts as they are,
 * where the default protocol has it decode each message from the kernel (JSON, signature, dates)
 * and encode it again as JSON for the socket, and the reverse for each request: on a machine where
 * the server, the kernel and the client share the cores, that work is time the cells wait.
 *
 * A frame is read as the JSON text of the default protocol, so one decoder (channel-frames.ts: the
 * frame limits, long strings cut, stream text kept as bytes) serves both protocols: the small parts
 * are joined, the content part is passed on as a view of the frame (a stream's megabyte of text is
 * never copied, {@link splitV1Frame}). The parts come from the kernel, which may write any message it likes; the
 * channel is the server's word and is set from the frame, never from the parts.
 *
 * Spec: https://jupyter-server.readthedocs.io/en/latest/developers/websocket-protocols.html
 * Pure.
 * @module
 */
import { NbtError } from '../errors.js';
import type { Channel, Message } from './messages.js';

/** The subprotocol's name, offered in `Sec-WebSocket-Protocol`. */
export const V1_PROTOCOL = 'v1.kernel.websocket.jupyter.org';

const CHANNELS: ReadonlySet<string> = new Set<Channel>(['shell', 'iopub', 'stdin', 'control']);
/** header, parent_header, metadata, content: the parts every message has. */
const MESSAGE_PARTS = 4;
/** The JSON keys the parts are copied under, in order, with the text around them. */
const KEYS = ['{"header":', ',"parent_header":', ',"metadata":', ',"content":'].map((k) => Buffer.from(k));
/** The closing text per channel: the channel is written last, after the parts. */
const CLOSE = new Map([...CHANNELS].map((c) => [c, Buffer.from(`,"channel":"${c}"}`)]));

/**
 * One decoded v1 frame: its channel, its message as the default protocol's JSON text (the channel
 * included; the caller still takes the channel from here, not from the parsed text), its buffers.
 */
export interface V1Frame {
  channel: Channel;
  json: Buffer;
  buffers: Buffer[];
}

/**
 * A v1 frame's message as JSON text in three pieces, so that the content (a stream's megabyte of
 * text) is never copied: `head` holds the header, parent header and metadata with their keys, `body`
 * is the content part itself (a view of the frame), `tail` closes the object with the channel.
 */
export interface V1Text {
  channel: Channel;
  head: Buffer;
  body: Buffer;
  tail: Buffer;
  buffers: Buffer[];
}

/** Splits a v1 frame; throws PROTOCOL_ERROR on a frame whose offsets do not describe it. */
export function decodeV1Frame(buf: Buffer): V1Frame {
  const { channel, head, body, tail, buffers } = splitV1Frame(buf);
  return { channel, json: Buffer.concat([head, body, tail]), buffers };
}

/** Splits a v1 frame into its message's JSON pieces; throws PROTOCOL_ERROR as {@link decodeV1Frame}. */
export function splitV1Frame(buf: Buffer): V1Text {
  if (buf.length < 8) throw bad('is too short');
  const count = buf.readBigUInt64LE(0);
  // channel + the four parts need 6 offsets; the table itself must fit in the frame.
  if (count < BigInt(MESSAGE_PARTS + 2) || count > BigInt(Math.floor(buf.length / 8) - 1)) {
    throw bad('has a bad offset count');
  }
  const n = Number(count);
  const offsets = new Array<number>(n);
  let previous = 8 * (n + 1);
  for (let i = 0; i < n; i++) {
    const at = buf.readBigUInt64LE(8 * (i + 1));
    // Each part starts where the last ended (the first right after the table); the last ends the frame.
    if (at < BigInt(previous) || at > BigInt(buf.length) || (i === 0 && at !== BigInt(previous))) {
      throw bad('has offsets out of order or out of range');
    }
    offsets[i] = Number(at);
    previous = offsets[i]!;
  }
  if (offsets[n - 1] !== buf.length) throw bad('does not end where its last offset says');
  const part = (i: number): Buffer => buf.subarray(offsets[i]!, offsets[i + 1]!);
  const channel = part(0).toString('latin1');
  if (!CHANNELS.has(channel)) throw bad(`names channel "${channel.slice(0, 40)}", not shell/iopub/stdin/control`);
  // An empty part (a kernel that sent no metadata) reads as an empty object.
  const json = (i: number): Buffer => (part(i + 1).length === 0 ? EMPTY_OBJECT : part(i + 1));
  const head: Buffer[] = [];
  for (let i = 0; i < MESSAGE_PARTS - 1; i++) head.push(KEYS[i]!, json(i));
  head.push(KEYS[MESSAGE_PARTS - 1]!);
  const buffers: Buffer[] = [];
  for (let i = MESSAGE_PARTS + 1; i < n - 1; i++) buffers.push(part(i));
  return {
    channel: channel as Channel,
    head: Buffer.concat(head),
    body: json(MESSAGE_PARTS - 1),
    tail: CLOSE.get(channel)!,
    buffers,
  };
}

const EMPTY_OBJECT = Buffer.from('{}');

/** Encodes a request as a v1 frame (requests carry no buffers). */
export function encodeV1Frame(m: Message): Buffer {
  const parts = [
    Buffer.from(m.channel, 'latin1'),
    Buffer.from(JSON.stringify(m.header)),
    Buffer.from(JSON.stringify(m.parent_header)),
    Buffer.from(JSON.stringify(m.metadata)),
    Buffer.from(JSON.stringify(m.content)),
  ];
  const n = parts.length + 1;
  const table = Buffer.alloc(8 * (n + 1));
  table.writeBigUInt64LE(BigInt(n), 0);
  let at = table.length;
  table.writeBigUInt64LE(BigInt(at), 8);
  for (let i = 0; i < parts.length; i++) {
    at += parts[i]!.length;
    table.writeBigUInt64LE(BigInt(at), 8 * (i + 2));
  }
  return Buffer.concat([table, ...parts]);
}

function bad(what: string): NbtError {
  return new NbtError('PROTOCOL_ERROR', `v1 kernel frame ${what}`, { details: { field: 'frame' } });
}
