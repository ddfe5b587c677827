/**
 * Test fixture: an HTTP front before a real server (the local Jupyter Server), on real sockets.
 * Requests go through to the server unless a route answers them itself (a notebook read that
 * trickles, or never ends); WebSocket upgrades go through as raw bytes, or are held unanswered
 * (a server that never completes the handshake).
 * @module
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';

/** Answers a request itself (returns true), or lets it through (false). */
export type Route = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface HttpFront {
  port: number;
  /** `127.0.0.1:PORT` */
  hostPort: string;
  /** Upgrade requests seen (answered or held). */
  readonly upgrades: number;
  close(): Promise<void>;
}

export interface HttpFrontOptions {
  route?: Route;
  /** Hold every WebSocket upgrade request open without an answer. */
  holdUpgrades?: boolean;
}

/** Starts a front on 127.0.0.1 (port 0) before `target`. */
export async function startHttpFront(
  target: { host: string; port: number },
  opts: HttpFrontOptions = {},
): Promise<HttpFront> {
  const sockets = new Set<Socket>();
  let upgrades = 0;
  const server = createServer((req, res) => {
    if (opts.route?.(req, res)) return;
    const up = request(
      { host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    upgrades++;
    if (opts.holdUpgrades) return; // never answered; destroyed by close()
    const up = connect(target.port, target.host, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    hostPort: `127.0.0.1:${port}`,
    get upgrades() {
      return upgrades;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a streaming route sent: bytes written, and whether the client went away. */
export interface Sent {
  bytes: number;
  closed: Promise<void>;
}

/**
 * A route for GET /api/contents/PATH: a 200 JSON answer whose `content` string never ends, in
 * chunks of `chunkBytes` every `everyMs` (0: as fast as the socket takes them).
 */
export function endlessContents(path: string, chunkBytes: number, everyMs: number, sent: Sent[]): Route {
  return (req, res) => {
    if (req.method !== 'GET' || !req.url?.startsWith(`/api/contents/${path}`)) return false;
    const s: Sent = { bytes: 0, closed: new Promise<void>((resolve) => res.on('close', resolve)) };
    sent.push(s);
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(chunkBytes, 'a');
    let stopped = false;
    res.on('close', () => {
      stopped = true;
    });
    const write = (): void => {
      if (stopped) return;
      s.bytes += chunk.length;
      const more = res.write(chunk);
      if (everyMs > 0) setTimeout(write, everyMs);
      else if (more) setImmediate(write);
      else res.once('drain', write);
    };
    s.bytes += 12;
    res.write('{"content":"');
    write();
    return true;
  };
}
