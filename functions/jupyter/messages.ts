/**
 * The subset of the Jupyter messaging protocol (v5.3) that nbtrigger speaks, typed as
 * literal-keyed shapes with guards, plus validation of incoming WebSocket frames. Pure.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/stable/messaging.html and
 * docs/jupyter-protocol.md (JSON text frames with `channel`, header `version: "5.3"`).
 * @module
 */
import { NbtError } from '../errors.js';

export type Channel = 'shell' | 'iopub' | 'stdin' | 'control';

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

/** A message as it travels on the kernel WebSocket (JSON text frame). */
export interface Message<C = Record<string, unknown>> {
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: C;
  channel: Channel;
  buffers?: unknown[];
  /** Set by the channel when a string of this message was cut to bound memory (see frame-clip.ts). */
  clipped?: boolean;
}

export interface ExecuteReplyContent {
  [key: string]: unknown;
  status: 'ok' | 'error' | 'aborted';
  execution_count?: number | null;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

export interface StatusContent {
  [key: string]: unknown;
  execution_state: 'busy' | 'idle' | 'starting' | 'restarting' | 'dead' | string;
}

let counter = 0;
const prefix = `${process.pid.toString(16)}-${Date.now().toString(36)}`;

/** Unique, cheap message id (no crypto on the hot path; uniqueness only needs to hold per session). */
export function newMsgId(): string {
  counter = (counter + 1) >>> 0;
  return `${prefix}-${counter.toString(36)}`;
}

/** Builds a request for the shell (or control) channel. */
export function makeRequest<C>(session: string, msgType: string, content: C, channel: Channel = 'shell'): Message<C> {
  return {
    header: {
      msg_id: newMsgId(),
      session,
      username: 'nbtrigger',
      date: new Date().toISOString(),
      msg_type: msgType,
      version: '5.3',
    },
    parent_header: {},
    metadata: {},
    content,
    channel,
    buffers: [],
  };
}

/** An `execute_request` for one cell: silent off, history off, stdin disabled, stop on error. */
export function executeRequest(session: string, code: string): Message {
  return makeRequest(session, 'execute_request', {
    code,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
    stop_on_error: true,
  });
}

const CHANNELS = new Set<Channel>(['shell', 'iopub', 'stdin', 'control']);

/**
 * Parses and validates one incoming text frame. Throws PROTOCOL_ERROR naming the bad field.
 * Unknown message types pass (the protocol grows); malformed structure does not.
 */
export function parseFrame(text: string): Message {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw protocol('frame', 'kernel WebSocket frame is not JSON');
  }
  if (!isObject(v)) throw protocol('frame', 'kernel WebSocket frame is not a JSON object');
  const { header, parent_header: parent, content, channel } = v;
  if (!isObject(header)) throw protocol('header', 'frame has no header object');
  if (typeof header.msg_type !== 'string') throw protocol('header.msg_type', 'frame header.msg_type is not a string');
  if (typeof header.msg_id !== 'string') throw protocol('header.msg_id', 'frame header.msg_id is not a string');
  if (parent !== undefined && parent !== null && !isObject(parent))
    throw protocol('parent_header', 'frame parent_header is not an object');
  if (!isObject(content)) throw protocol('content', `frame content of ${header.msg_type} is not an object`);
  if (typeof channel !== 'string' || !CHANNELS.has(channel as Channel))
    throw protocol('channel', `frame channel "${String(channel)}" is not shell/iopub/stdin/control`);
  if (v.metadata !== undefined && !isObject(v.metadata)) throw protocol('metadata', 'frame metadata is not an object');
  return {
    header: header as unknown as Header,
    parent_header: (parent ?? {}) as Partial<Header>,
    metadata: (v.metadata ?? {}) as Record<string, unknown>,
    content,
    channel: channel as Channel,
  };
}

/** The `msg_id` of the request this message answers, if any. */
export function parentId(m: Message): string | undefined {
  const id = m.parent_header.msg_id;
  return typeof id === 'string' ? id : undefined;
}

export function isExecuteReply(m: Message): m is Message<ExecuteReplyContent> {
  return m.channel === 'shell' && m.header.msg_type === 'execute_reply' && typeof m.content.status === 'string';
}

export function isStatus(m: Message): m is Message<StatusContent> {
  return m.channel === 'iopub' && m.header.msg_type === 'status' && typeof m.content.execution_state === 'string';
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function protocol(field: string, message: string): NbtError {
  return new NbtError('PROTOCOL_ERROR', message, { details: { field } });
}
