/**
 * Test fixture: a front that routes by a session affinity cookie, as Cloud Run does with session
 * affinity on (https://cloud.google.com/run/docs/configuring/session-affinity), before several real
 * servers on real sockets. A request (HTTP or WebSocket upgrade) with a cookie naming a backend
 * goes to that backend; any other goes to the next backend in turn, and its answer (the 101 of an
 * upgrade too) carries `Set-Cookie: GOOGAPPUID=…` naming the backend it reached.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';

/** Cloud Run's session affinity cookie. */
export const AFFINITY_COOKIE = 'GOOGAPPUID';

export interface RoutedRequest {
  method: string;
  url: string;
  upgrade: boolean;
  /** Index of the backend it went to. */
  backend: number;
  /** It carried a cookie naming a backend. */
  affine: boolean;
}

export interface AffinityFront {
  port: number;
  /** `127.0.0.1:PORT` */
  hostPort: string;
  /** Every request routed, in order. */
  readonly routed: RoutedRequest[];
  /** The cookie values it handed out (for tests that check they are never logged). */
  readonly issued: string[];
  /** Cuts every open WebSocket (both sides), as an instance's front dropping connections would. */
  cutWebSockets(): number;
  close(): Promise<void>;
}

/** Starts the front on 127.0.0.1 (port 0) before `backends` (ports on 127.0.0.1). */
export async function startAffinityFront(backends: number[]): Promise<AffinityFront> {
  const sockets = new Set<Socket>();
  const upgraded = new Set<Socket>();
  const routed: RoutedRequest[] = [];
  const issued: string[] = [];
  // Opaque cookie value → backend index (a value the front did not issue routes like no cookie).
  const byValue = new Map<string, number>();
  let next = 0;
  const route = (req: IncomingMessage, upgrade: boolean): { backend: number; setCookie?: string } => {
    const values = (req.headers.cookie ?? '')
      .split(';')
      .map((c) => c.trim())
      .filter((c) => c.startsWith(`${AFFINITY_COOKIE}=`))
      .map((c) => c.slice(AFFINITY_COOKIE.length + 1));
    const known = values.map((v) => byValue.get(v)).find((b) => b !== undefined);
    if (known !== undefined) {
      routed.push({ method: req.method ?? '', url: req.url ?? '', upgrade, backend: known, affine: true });
      return { backend: known };
    }
    const backend = next;
    next = (next + 1) % backends.length;
    const value = randomBytes(12).toString('hex');
    byValue.set(value, backend);
    issued.push(value);
    routed.push({ method: req.method ?? '', url: req.url ?? '', upgrade, backend, affine: false });
    return { backend, setCookie: `${AFFINITY_COOKIE}=${value}; Path=/; Max-Age=2592000; HttpOnly` };
  };
  const server = createServer((req, res) => {
    const to = route(req, false);
    const port = backends[to.backend];
    const target = { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers };
    const up = request(target, (r) => {
      const headers = { ...r.headers };
      if (to.setCookie) headers['set-cookie'] = [...(r.headers['set-cookie'] ?? []), to.setCookie];
      res.writeHead(r.statusCode ?? 502, headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const to = route(req, true);
    upgraded.add(socket);
    socket.on('close', () => upgraded.delete(socket));
    const up = connect(backends[to.backend]!, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) up.write(head);
      socket.pipe(up);
      if (!to.setCookie) {
        up.pipe(socket);
        return;
      }
      // The answer's head gets the cookie; the frames after it pass as they are.
      let buffered = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        buffered = Buffer.concat([buffered, chunk]);
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        up.off('data', onData);
        const cookie = Buffer.from(`\r\nSet-Cookie: ${to.setCookie}`);
        socket.write(Buffer.concat([buffered.subarray(0, end), cookie, buffered.subarray(end)]));
        up.pipe(socket);
      };
      up.on('data', onData);
    });
    sockets.add(up);
    up.on('close', () => {
      sockets.delete(up);
      socket.destroy();
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
    socket.on('close', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    hostPort: `127.0.0.1:${port}`,
    routed,
    issued,
    cutWebSockets() {
      const n = upgraded.size;
      for (const s of upgraded) s.destroy();
      return n;
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
