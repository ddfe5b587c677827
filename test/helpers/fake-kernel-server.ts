/**
 * Test fixture: a scripted stand-in for Jupyter Server's kernel WebSocket
 * (`/api/kernels/{id}/channels?session_id=S`), for the reconnect decisions that a real server
 * only shows by chance: a request lost in a cut, messages delivered twice after a reconnect, an
 * upgrade refused. It answers `kernel_info_request` and `execute_request` the way ipykernel does
 * (busy → execute_input → stream → execute_reply → idle) unless a hook says otherwise, and
 * records every connection's session id and every request it received. Like Jupyter Server, it
 * agrees to the v1 subprotocol when the client offers it (binary frames both ways), unless told to
 * speak only the default JSON protocol.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeV1Frame, encodeV1Frame, V1_PROTOCOL } from '../../functions/jupyter/channel-v1.js';
import type { Message } from '../../functions/jupyter/messages.js';

export interface FakeConnection {
  ws: WebSocket;
  sessionId: string;
  /** The subprotocol agreed on this connection ('' for none). */
  protocol: string;
  /** Every message this server sent on this connection, in order. */
  sent: Message[];
}

export interface FakeKernelHooks {
  /**
   * Called for each request before it is answered; return false to swallow it (a request lost
   * in a cut). `conn` is the connection index (0 = first).
   */
  onRequest?: (req: Message, conn: number, server: FakeKernelServer) => unknown;
  /** Called when a connection opens (after the upgrade), before anything is sent on it. */
  onOpen?: (conn: number, server: FakeKernelServer) => void;
  /** Answers the upgrade with this HTTP status instead (e.g. 503), for connection `conn`. */
  refuseUpgrade?: (conn: number) => number | undefined;
  /** 'legacy': answers every upgrade with no subprotocol, as a server without v1 does. Default: v1 when offered. */
  protocol?: 'v1' | 'legacy';
}

export interface FakeKernelServer {
  port: number;
  connections: FakeConnection[];
  /** Every request received, with the connection it came on. */
  requests: Array<{ conn: number; msg: Message }>;
  /** Upgrade attempts (accepted or refused). */
  attempts: number;
  /** Sends a message on connection `conn` and remembers it. */
  send(conn: number, m: Message): void;
  /** The messages the kernel would emit for `req` (not sent). */
  answers(req: Message): Message[];
  close(): Promise<void>;
}

let execCount = 0;

function reply(req: Message, channel: Message['channel'], msgType: string, content: Record<string, unknown>): Message {
  return {
    header: {
      msg_id: randomUUID(),
      session: 'kernel-session',
      username: 'kernel',
      date: new Date().toISOString(),
      msg_type: msgType,
      version: '5.3',
    },
    parent_header: req.header,
    metadata: {},
    content,
    channel,
  };
}

/** Starts the fake on 127.0.0.1:0. */
export async function startFakeKernelServer(hooks: FakeKernelHooks = {}): Promise<FakeKernelServer> {
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    verifyClient: (info: { req: IncomingMessage }, cb: (ok: boolean, code?: number) => void) => {
      const n = self.attempts++;
      const status = hooks.refuseUpgrade?.(n);
      if (status) cb(false, status);
      else cb(true);
      void info;
    },
    handleProtocols: (offered: Set<string>) =>
      hooks.protocol !== 'legacy' && offered.has(V1_PROTOCOL) ? V1_PROTOCOL : false,
  });
  await new Promise<void>((res) => wss.once('listening', () => res()));
  const self: FakeKernelServer = {
    port: (wss.address() as { port: number }).port,
    connections: [],
    requests: [],
    attempts: 0,
    send(conn, m) {
      const c = self.connections[conn]!;
      c.sent.push(m);
      if (c.ws.readyState === c.ws.OPEN) c.ws.send(c.protocol === V1_PROTOCOL ? encodeV1Frame(m) : JSON.stringify(m));
    },
    answers(req) {
      const type = req.header.msg_type;
      if (type === 'kernel_info_request') {
        return [
          reply(req, 'iopub', 'status', { execution_state: 'busy' }),
          reply(req, 'shell', 'kernel_info_reply', {
            status: 'ok',
            protocol_version: '5.3',
            language_info: { name: 'python' },
          }),
          reply(req, 'iopub', 'status', { execution_state: 'idle' }),
        ];
      }
      const n = ++execCount;
      const code = String((req.content as { code?: unknown }).code ?? '');
      return [
        reply(req, 'iopub', 'status', { execution_state: 'busy' }),
        reply(req, 'iopub', 'execute_input', { code, execution_count: n }),
        reply(req, 'iopub', 'stream', { name: 'stdout', text: `out:${code}\n` }),
        reply(req, 'shell', 'execute_reply', { status: 'ok', execution_count: n, user_expressions: {} }),
        reply(req, 'iopub', 'status', { execution_state: 'idle' }),
      ];
    },
    async close() {
      for (const c of self.connections) c.ws.terminate();
      await new Promise<void>((res) => wss.close(() => res()));
    },
  };
  wss.on('connection', (ws, req) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const conn = self.connections.length;
    self.connections.push({ ws, sessionId: url.searchParams.get('session_id') ?? '', protocol: ws.protocol, sent: [] });
    hooks.onOpen?.(conn, self);
    ws.on('message', (data, isBinary) => {
      const msg = (
        isBinary && ws.protocol === V1_PROTOCOL
          ? JSON.parse(decodeV1Frame(data as Buffer).json.toString())
          : JSON.parse(data.toString())
      ) as Message;
      self.requests.push({ conn, msg });
      if (hooks.onRequest?.(msg, conn, self) === false) return;
      for (const m of self.answers(msg)) self.send(conn, m);
    });
  });
  return self;
}
