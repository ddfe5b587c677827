/**
 * Kernel channel frames: the frame size limit a run accepts, the binary frame layout, and the
 * decoding of one frame that keeps no more of its long strings than the output cap can use.
 *
 * Spec: https://jupyter-server.readthedocs.io/en/latest/developers/websocket-protocols.html
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { NbtError } from '../errors.js';
import { RawJsonText } from '../notebook/raw-text.js';
import { clipLongStrings, extractLongStrings, placeholder } from './frame-clip.js';
import { parseFrame, type Message } from './messages.js';

/**
 * Says whether the text of a stream message may be dropped unread (its cell keeps no more output).
 * Given the message with its long strings cut; called as the frame arrives, in order.
 */
export type DiscardTest = (m: Message) => boolean;

/** Frame limit without a memory budget (the output cap's frames and their JSON escaping fit). */
const MIN_FRAME_BYTES = 8 * 1024 * 1024;

/**
 * The largest kernel frame a run accepts: room for a frame carrying a cell's whole output cap
 * (twice the cap: JSON escaping) and 1 MiB of header, at least 8 MiB, and at most a third of the
 * memory budget (ws holds the frame's fragments and their join, then it is parsed). The kernels
 * nbtrigger starts send stream output in frames of at most 1 MiB of text.
 */
export function frameLimit(maxOutputChars: number, memoryBudgetBytes: number): number {
  return Math.floor(Math.min(memoryBudgetBytes / 3, Math.max(MIN_FRAME_BYTES, 2 * (maxOutputChars + 1) + 1024 * 1024)));
}

/** Stream frames above this size keep their text as bytes (smaller ones are decoded as usual). */
const RAW_FRAME_BYTES = 64 * 1024;
/** Strings above this size are taken out of such a frame before it is parsed (header fields are far shorter). */
const RAW_STRING_BYTES = 1024;

/**
 * A frame's JSON text: one buffer (the default protocol), or the v1 subprotocol's pieces around the
 * content part (channel-v1.ts), which is then searched for long strings without being copied.
 */
export type FrameJson = Buffer | { head: Buffer; body: Buffer; tail: Buffer };

const NONE = Buffer.alloc(0);

/** Parses one frame, decoding no more of its long strings than can be kept. */
export function decodeFrame(
  json: FrameJson,
  isBinary: boolean,
  maxStringBytes: number | undefined,
  discard: DiscardTest | undefined,
): Message {
  const { head, body, tail } = Buffer.isBuffer(json) ? { head: NONE, body: json, tail: NONE } : json;
  const around = (text: string): string =>
    head.length + tail.length === 0 ? text : head.toString('utf8') + text + tail.toString('utf8');
  // A large stream frame is parsed without its text: the text stays the frame's bytes
  // (raw-text.ts), or is dropped unread when its cell keeps no more output.
  if (!isBinary && head.length + body.length + tail.length > RAW_FRAME_BYTES) {
    const x = extractLongStrings(body, RAW_STRING_BYTES);
    if (x.ranges.length === 1) {
      const small = parseFrame(around(x.text));
      if (small.header.msg_type === 'stream' && small.content.text === placeholder(0)) {
        if (discard?.(small)) {
          small.content.text = '';
          small.clipped = true;
          return small;
        }
        const bytes = body.subarray(x.ranges[0]!.start, x.ranges[0]!.end);
        const raw = isUtf8(bytes) ? RawJsonText.of(bytes) : undefined;
        if (raw) {
          small.content.text = raw;
          return small;
        }
        // Not valid UTF-8 or JSON string content: decoded below, as any frame (the parser decides).
      }
    }
  }
  // A huge frame (a cell printing megabytes at once) is parsed with its long strings cut to
  // what the output cap can keep: never two more full copies of output that is thrown away.
  // The head (v1: header, parent header, metadata) is cut the same way when it is that large.
  const cut = (b: Buffer) =>
    maxStringBytes !== undefined && b.length > maxStringBytes ? clipLongStrings(b, maxStringBytes) : undefined;
  const [clipHead, clipBody] = [cut(head), cut(body)];
  const text = (b: Buffer, c: ReturnType<typeof cut>): string => (c ? c.text : b.toString('utf8'));
  const msg = parseFrame(text(head, clipHead) + text(body, clipBody) + tail.toString('utf8'));
  if ((clipHead?.clipped ?? 0) + (clipBody?.clipped ?? 0) > 0) msg.clipped = true;
  return msg;
}

/**
 * Splits a binary frame of the default protocol, `[nbufs:u32be][offsets:u32be × nbufs][json][buffers…]`,
 * into its JSON and its buffers (views of the frame: widget state keeps them).
 */
export function binaryFrame(buf: Buffer): { json: Buffer; buffers: Buffer[] } {
  if (buf.length < 8) throw new NbtError('PROTOCOL_ERROR', 'binary kernel frame is too short');
  const n = buf.readUInt32BE(0);
  if (n < 1 || 4 + 4 * n > buf.length)
    throw new NbtError('PROTOCOL_ERROR', 'binary kernel frame has a bad offset table');
  const offsets = Array.from({ length: n }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const parts = offsets.map((start, i) => {
    const end = i + 1 < n ? offsets[i + 1]! : buf.length;
    if (start > end || end > buf.length) {
      throw new NbtError('PROTOCOL_ERROR', 'binary kernel frame offsets are out of range');
    }
    return buf.subarray(start, end);
  });
  return { json: parts[0]!, buffers: parts.slice(1) };
}
