/**
 * The SSRF guard at run time: checks the server named by a message against the allowlist
 * before any request, and gives every connection of the run (and of its outputs) one guarded
 * connector (connector.ts): each resolved address and each connected peer is judged by the
 * address policy, so DNS rebinding cannot slip a private or metadata address past it.
 * @module
 */
import { isIP } from 'node:net';
import { NbtError } from '../errors.js';
import { parseServer, type ServerAddress } from '../request/address.js';
import { checkHost, isMetadataHost, parseAllowlist, type HostPattern } from './allowlist.js';
import { createConnector, type Connector, type LookupFn, type Resolver } from './connector.js';

export type { LookupFn } from './connector.js';

export interface Guard {
  /** Throws SERVER_NOT_ALLOWED when the server may not be used. */
  check(server: ServerAddress): void;
  /** The connector for every connection to `server` (REST, channel, outputs on the server). */
  connectorFor(server: ServerAddress): Connector;
  /** A lookup that refuses forbidden addresses of `server`. */
  lookupFor(server: ServerAddress): LookupFn;
}

export interface GuardDeps {
  /** DNS resolver for every connection (tests inject a rebinding one). */
  resolve?: Resolver;
  /** CA certificates (PEM) TLS connections trust instead of Node's roots (tests: a self-signed server). */
  ca?: string | string[];
}

/** Builds the guard from the function's environment: ALLOWED_SERVERS, else JUPYTER_SERVER exactly. */
export function guardFromEnv(env: { ALLOWED_SERVERS?: string; JUPYTER_SERVER?: string }, deps: GuardDeps = {}): Guard {
  let patterns: HostPattern[];
  try {
    patterns = parseAllowlist(env.ALLOWED_SERVERS ?? defaultFromServer(env.JUPYTER_SERVER));
  } catch (e) {
    throw new NbtError('CONFIG', (e as Error).message, { details: { field: 'ALLOWED_SERVERS' } });
  }
  return createGuard(patterns, deps);
}

/** JUPYTER_SERVER as an exact pattern, canonical (its scheme does not matter here). */
function defaultFromServer(server: string | undefined): string | undefined {
  if (!server?.trim()) return undefined;
  const https = /^\s*https:/i.test(server);
  let a: ServerAddress;
  try {
    a = parseServer(server, https, 'JUPYTER_SERVER');
  } catch (e) {
    throw new Error(`ALLOWED_SERVERS is not set and ${(e as Error).message}`);
  }
  const host = isIP(a.host) === 6 ? `[${a.host}]` : a.host;
  // Written without a port, the host is allowed on any port (the message's scheme picks one).
  return /:\d+\/*\s*$/.test(server) ? `${host}:${a.port}` : host;
}

/** A guard over the given patterns. */
export function createGuard(patterns: HostPattern[], deps: GuardDeps = {}): Guard {
  const verdict = (server: ServerAddress) => checkHost(server, patterns);
  const connectorFor = (server: ServerAddress): Connector =>
    createConnector({
      privateOk: verdict(server).privateOk,
      refuse: (why) => refused(server, why),
      resolve: deps.resolve,
      ca: deps.ca,
    });
  return {
    check(server) {
      const v = verdict(server);
      if (!v.allowed) throw refused(server, v.reason ?? 'not allowed');
    },
    connectorFor,
    lookupFor: (server) => connectorFor(server).lookup,
  };
}

/**
 * The connector for an endpoint the operator configured (the failure webhook): metadata
 * servers are refused always; a non-public address only when the URL names it as an IP
 * literal, so a public name that resolves (or rebinds) to a private address is refused.
 */
export function endpointConnector(url: URL, deps: GuardDeps = {}): Connector {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const name = `${url.protocol}//${url.host}`;
  const refuse = (why: string): NbtError =>
    new NbtError('SERVER_NOT_ALLOWED', `${name} refused: ${why}`, { details: { field: 'NOTIFY_WEBHOOK' } });
  if (isMetadataHost(host)) {
    const err = refuse(`"${host}" is a cloud metadata server`);
    return {
      open: (_t, cb) => process.nextTick(cb, err),
      lookup: (_h, _o, cb) => cb(err, []),
      lastPeer: () => undefined,
    };
  }
  return createConnector({ privateOk: isIP(host) !== 0, refuse, resolve: deps.resolve });
}

function refused(server: ServerAddress, why: string): NbtError {
  const host = isIP(server.host) === 6 ? `[${server.host}]` : server.host;
  return new NbtError('SERVER_NOT_ALLOWED', `server ${host}:${server.port} refused: ${why}`, {
    details: { field: 'server' },
  });
}

/**
 * The connector for an http(s) notebook source the allowlist names (security/sources.ts): the
 * pattern names the host exactly, so its addresses may be private, as for an exact
 * ALLOWED_SERVERS pattern; metadata servers never, and every resolved address and peer is judged.
 */
export function sourceConnector(origin: string, deps: GuardDeps = {}): Connector {
  const refuse = (why: string): NbtError =>
    new NbtError('SOURCE_NOT_ALLOWED', `${origin} refused: ${why}`, { details: { field: 'notebook' } });
  const host = new URL(origin).hostname.replace(/^\[|\]$/g, '');
  if (isMetadataHost(host)) {
    const err = refuse(`"${host}" is a cloud metadata server`);
    return {
      open: (_t, cb) => process.nextTick(cb, err),
      lookup: (_h, _o, cb) => cb(err, []),
      lastPeer: () => undefined,
    };
  }
  return createConnector({ privateOk: true, refuse, resolve: deps.resolve, ca: deps.ca });
}
