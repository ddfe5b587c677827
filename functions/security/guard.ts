/**
 * The SSRF guard at run time: checks the server named by a message against the allowlist
 * before any request, and gives undici and ws a DNS `lookup` that re-checks every address a
 * connection resolves to (so DNS rebinding cannot slip a private or metadata address past it).
 *
 * Spec: issue "Reliability and security …" (SSRF).
 * @module
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { NbtError } from '../errors.js';
import type { ServerAddress } from '../request/address.js';
import { checkHost, isMetadataIp, isPrivateAddress, parseAllowlist, type HostPattern } from './allowlist.js';

/** `lookup` as net.connect and ws take it. */
export type LookupFn = (hostname: string, options: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => void;

export interface Guard {
  /** Throws SERVER_NOT_ALLOWED when the server may not be used. */
  check(server: ServerAddress): void;
  /** A lookup that refuses forbidden addresses of `server` (use for its connections). */
  lookupFor(server: ServerAddress): LookupFn;
}

/** Builds the guard from the function's environment: ALLOWED_SERVERS, else JUPYTER_SERVER exactly. */
export function guardFromEnv(env: { ALLOWED_SERVERS?: string; JUPYTER_SERVER?: string }): Guard {
  let patterns: HostPattern[];
  try {
    patterns = parseAllowlist(env.ALLOWED_SERVERS ?? defaultFromServer(env.JUPYTER_SERVER));
  } catch (e) {
    throw new NbtError('CONFIG', (e as Error).message, { details: { field: 'ALLOWED_SERVERS' } });
  }
  return createGuard(patterns);
}

function defaultFromServer(server: string | undefined): string | undefined {
  if (!server) return undefined;
  return server.trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '');
}

/** A guard over the given patterns. */
export function createGuard(patterns: HostPattern[]): Guard {
  const verdict = (server: ServerAddress) => checkHost(server, patterns);
  return {
    check(server) {
      const v = verdict(server);
      if (!v.allowed) throw refused(server, v.reason ?? 'not allowed');
    },
    lookupFor(server) {
      const privateOk = verdict(server).privateOk;
      return (hostname, options, callback) => {
        dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
          if (err) return callback(err, []);
          const list = addresses as LookupAddress[];
          const bad = list.find((a) => isMetadataIp(a.address) || (!privateOk && isPrivateAddress(a.address)));
          if (bad) {
            const e = refused(server, `${hostname} resolves to ${bad.address}, a ${isMetadataIp(bad.address) ? 'metadata' : 'private'} address`) as unknown as NodeJS.ErrnoException;
            return callback(e, []);
          }
          if ((options as { all?: boolean }).all) return callback(null, list);
          const first = list[0]!;
          callback(null, first.address, first.family);
        });
      };
    },
  };
}

function refused(server: ServerAddress, why: string): NbtError {
  const host = isIP(server.host) === 6 ? `[${server.host}]` : server.host;
  return new NbtError('SERVER_NOT_ALLOWED', `server ${host}:${server.port} refused: ${why}`, { details: { field: 'server' } });
}
