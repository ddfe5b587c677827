/**
 * The guarded connector: the one way the function opens a connection (REST pool, kernel
 * WebSocket, reconnect probe, warm kernels, contents-API writes, nbconvert, webhook). It
 *
 * 1. judges an IP literal before connecting (Node skips DNS for literals);
 * 2. resolves names through an injectable resolver and judges every address it returns, so a
 *    name that rebinds to a forbidden address is refused before a packet leaves;
 * 3. judges the connected socket's remote address, the last line, before the caller gets the
 *    socket (so before any request, and its Authorization header, is written; for TLS, before
 *    the handshake starts).
 *
 * Adapters give it to undici (`connect` option) and to Node's http client, which ws uses
 * (`createConnection` with a callback).
 * @module
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { buildConnector } from 'undici';
import { refusedAddress } from './address-policy.js';

/** Resolves a host name to all its addresses (injectable: tests use a rebinding resolver). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

/** `lookup` as net.connect takes it. */
export type LookupFn = (
  hostname: string,
  options: object,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

export interface ConnectTarget {
  host: string;
  port: number;
  secure: boolean;
  /** TLS server name (default: the host, unless it is an IP address). */
  servername?: string;
}

export type ConnectCallback = (err: Error | null, socket?: Socket) => void;

/** Opens checked connections under one address rule. */
export interface Connector {
  /** Calls back once with a connected (TLS: handshaken) socket whose peer passed the policy, or an error. */
  open(target: ConnectTarget, callback: ConnectCallback): void;
  /** The guarded lookup (every address re-checked). */
  readonly lookup: LookupFn;
  /** The address of the last peer that passed the policy (for a connection that cannot be guarded itself). */
  lastPeer(): LookupAddress | undefined;
}

export interface ConnectorOptions {
  /** Non-public addresses are fine (the host was named exactly); metadata addresses never are. */
  privateOk: boolean;
  /** The error for a refused address (`why` names the address and its class). */
  refuse: (why: string) => Error;
  resolve?: Resolver;
  /** Connect (and TLS handshake) limit, ms; default 10 s. */
  timeoutMs?: number;
  /** net.connect (tests pass one that skips `lookup`, as Node does for IP literals, to reach the last line). */
  netConnect?: typeof netConnect;
  /** CA certificates (PEM) TLS trusts instead of Node's bundled roots (tests: a self-signed server). */
  ca?: string | string[];
}

/** The system resolver (getaddrinfo, as Node's net uses by default). */
const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** Builds a connector. */
export function createConnector(o: ConnectorOptions): Connector {
  const resolve = o.resolve ?? systemResolver;
  const timeoutMs = o.timeoutMs ?? 10_000;
  /** `as` words the refusal: `${shown} is ${kind}` by default. */
  type Words = (shown: string, kind: string) => string;
  const judge = (ip: string, as: Words = (a, k) => `${a} is ${k}`): Error | undefined => {
    const r = refusedAddress(ip, o.privateOk);
    return r === undefined ? undefined : o.refuse(as(r.shown, r.kind));
  };
  const lookup: LookupFn = (hostname, options, callback) => {
    const family = (options as { family?: number }).family;
    resolve(hostname).then(
      (all) => {
        const list = all.filter((a) => !family || a.family === family);
        if (list.length === 0) {
          return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), []);
        }
        for (const a of list) {
          const err = judge(a.address, (shown, kind) => `${hostname} resolves to ${shown}, ${kind}`);
          if (err) return callback(err as NodeJS.ErrnoException, []);
        }
        if ((options as { all?: boolean }).all) return callback(null, list);
        return callback(null, list[0]!.address, list[0]!.family);
      },
      (e: unknown) => callback(e as NodeJS.ErrnoException, []),
    );
  };

  let last: LookupAddress | undefined;
  const open = (t: ConnectTarget, callback: ConnectCallback): void => {
    let settled = false;
    const done = (err: Error | null, socket?: Socket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      callback(err, socket);
    };
    const timer = setTimeout(() => {
      tcp?.destroy();
      const e = new Error(`connect to ${t.host}:${t.port} timed out after ${timeoutMs} ms`);
      done(Object.assign(e, { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    }, timeoutMs);
    let tcp: Socket | undefined;
    if (isIP(t.host)) {
      const err = judge(t.host);
      if (err) {
        process.nextTick(done, err);
        return;
      }
    }
    tcp = (o.netConnect ?? netConnect)({
      host: t.host,
      port: t.port,
      lookup,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
    });
    const onError = (e: Error): void => {
      tcp!.destroy();
      done(e);
    };
    tcp.on('error', onError);
    tcp.once('connect', () => {
      // The last line: whatever resolved (or skipped resolving), the peer itself must pass.
      const peer = tcp!.remoteAddress ?? '';
      const err = judge(peer, (shown, kind) => `the connected peer ${shown} is ${kind}`);
      if (err) return onError(err);
      last = { address: peer, family: tcp!.remoteFamily === 'IPv6' ? 6 : 4 };
      if (!t.secure) {
        tcp!.removeListener('error', onError);
        return done(null, tcp);
      }
      const servername = t.servername ?? (isIP(t.host) ? undefined : t.host);
      // `host` is what the certificate is checked against (Node's default is "localhost").
      const tls = tlsConnect({
        socket: tcp!,
        host: servername ?? t.host,
        ...(servername ? { servername } : {}),
        ...(o.ca ? { ca: o.ca } : {}),
        ALPNProtocols: ['http/1.1'],
      });
      tls.on('error', onError);
      tls.once('secureConnect', () => {
        tcp!.removeListener('error', onError);
        tls.removeListener('error', onError);
        done(null, tls);
      });
    });
  };
  return { open, lookup, lastPeer: () => last };
}

/** undici's `connect` option (Pool, Client) over a connector. */
export function undiciConnect(c: Connector): buildConnector.connector {
  return (opts, callback) => {
    const secure = opts.protocol === 'https:';
    const host = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
    const servername = opts.servername ? { servername: opts.servername } : {};
    c.open({ host, port: Number(opts.port) || (secure ? 443 : 80), secure, ...servername }, (err, socket) =>
      err || !socket ? callback(err ?? new Error('no socket'), null) : callback(null, socket),
    );
  };
}

/**
 * Node's http `createConnection` (ws passes it through): returns nothing and hands the socket
 * over through the callback once it is checked, so the upgrade request is written only then.
 */
export function httpCreateConnection(c: Connector, secure: boolean, onSocket?: (s: Socket) => void) {
  return (
    o: { host?: string; hostname?: string; port?: number | string; servername?: string },
    oncreate: (err: Error | null, socket?: Socket) => void,
  ): undefined => {
    const raw = o.host ?? o.hostname ?? 'localhost';
    const host = raw.startsWith('[') ? raw.slice(1, -1) : raw;
    const servername = o.servername ? { servername: o.servername } : {};
    c.open({ host, port: Number(o.port) || (secure ? 443 : 80), secure, ...servername }, (err, socket) => {
      if (socket) onSocket?.(socket);
      oncreate(err, socket);
    });
    return undefined;
  };
}
