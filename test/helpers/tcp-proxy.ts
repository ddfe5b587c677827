/**
 * Test fixture: a small TCP proxy in front of a real server (the local Jupyter Server). It can
 * cut every live connection on command (both sockets destroyed: what a network cut or Cloud Run's
 * request timeout does to a WebSocket), refuse or answer `503` to new connections for a while
 * (a server that is down or still starting behind a front end), and add latency both ways
 * (benchmarks).
 * @module
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TcpProxyOptions {
  /** Delay added to every chunk in each direction, ms (order is kept). */
  latencyMs?: number;
}

export interface CutOptions {
  /**
   * Wait (up to 10 s) until the server has sent nothing for this long before cutting. Bytes the
   * server already handed to a connection that is then cut are lost for good (Jupyter Server only
   * buffers while no client is connected), so a test that asserts complete output cuts in a lull.
   */
  quietMs?: number;
  /** After the cut, refuse new connections for this long, ms. */
  downMs?: number;
  /**
   * Close WebSockets cleanly, as a front end does at its request timeout: the client gets a close
   * frame (1001 going away) and a FIN, the server a FIN. Other connections are destroyed.
   */
  closeFrame?: boolean;
}

export interface TcpProxy {
  port: number;
  /** `127.0.0.1:PORT` */
  hostPort: string;
  /** Connections accepted so far (all modes). */
  readonly accepted: number;
  /** Connections piped to the target now. */
  readonly live: number;
  /** Cuts every live connection; resolves with how many were cut. */
  cut(opts?: CutOptions): Promise<number>;
  /** New connections are destroyed at once until `until` (ms since epoch). */
  refuseUntil(until: number): void;
  /** New connections get `HTTP/1.1 503` and are closed until `until` (ms since epoch); `Infinity` for ever. */
  unavailableUntil(until: number): void;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (port 0) forwarding to `target`. */
export async function startTcpProxy(
  target: { host: string; port: number },
  opts: TcpProxyOptions = {},
): Promise<TcpProxy> {
  let latency = opts.latencyMs ?? 0;
  let refuse = 0;
  let unavailable = 0;
  let accepted = 0;
  let lastFromServer = 0;
  const pairs = new Set<[Socket, Socket]>();
  const websockets = new WeakSet<Socket>();

  const server: Server = createServer((client) => {
    accepted++;
    client.setNoDelay(true);
    const now = Date.now();
    if (now < refuse) {
      client.destroy();
      return;
    }
    if (now < unavailable) {
      client.once('data', () => {
        client.end(
          'HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n' +
            'content-length: 8\r\nconnection: close\r\n\r\nstarting',
        );
      });
      client.on('error', () => undefined);
      return;
    }
    const upstream = connect({ host: target.host, port: target.port });
    upstream.setNoDelay(true);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    forward(client, upstream, () => latency);
    let first = true;
    forward(
      upstream,
      client,
      () => latency,
      (chunk) => {
        lastFromServer = Date.now();
        if (first && chunk.subarray(0, 12).toString('latin1') === 'HTTP/1.1 101') websockets.add(client);
        first = false;
      },
    );
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    hostPort: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    get live() {
      return pairs.size;
    },
    async cut(o = {}) {
      if (o.quietMs !== undefined) {
        const limit = Date.now() + 10_000;
        while (Date.now() - lastFromServer < o.quietMs && Date.now() < limit) await sleep(5);
      }
      if (o.downMs !== undefined) refuse = Date.now() + o.downMs;
      const n = pairs.size;
      for (const [a, b] of [...pairs]) {
        if (o.closeFrame && websockets.has(a)) {
          // FIN + close frame 1001 (unmasked, server to client), then FIN to both sides.
          a.end(Buffer.from([0x88, 0x02, 0x03, 0xe9]));
          b.end();
          setTimeout(() => {
            a.destroy();
            b.destroy();
          }, 1000).unref();
          continue;
        }
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      return n;
    },
    refuseUntil(until) {
      refuse = until;
    },
    unavailableUntil(until) {
      unavailable = until;
    },
    setLatency(ms) {
      latency = ms;
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}

/** Pipes `from` → `to`, delaying each chunk by the current latency while keeping order. */
function forward(from: Socket, to: Socket, latency: () => number, onData?: (chunk: Buffer) => void): void {
  let chain = Promise.resolve();
  from.on('data', (chunk: Buffer) => {
    onData?.(chunk);
    const ms = latency();
    if (ms <= 0) {
      if (!to.destroyed && !to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
      return;
    }
    const due = Date.now() + ms;
    chain = chain.then(async () => {
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      if (!to.destroyed) to.write(chunk);
    });
  });
  from.on('end', () => {
    void chain.then(() => to.end());
  });
}
