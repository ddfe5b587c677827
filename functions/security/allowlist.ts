/**
 * SSRF allowlist, pure: which servers a message may point the function at. `ALLOWED_SERVERS` is
 * a comma/space separated list of `host[:port]` patterns — an exact host or IP, `*.suffix`
 * for subdomains, or `*` for any public host; the port may be `*`. Patterns and servers are
 * compared in canonical form (request/address.ts), so `127.1`, `0x7f000001` and `127.0.0.1` are
 * one host. Cloud metadata servers are refused always; non-public addresses (address-policy.ts)
 * only when an exact (non-wildcard) pattern names the host.
 * @module
 */
import { isIP } from 'node:net';
import { canonicalHost, type ServerAddress } from '../request/address.js';
import { isMetadataIp, refusal } from './address-policy.js';

export interface HostPattern {
  /** Canonical host (request/address.ts `canonicalHost`), `*.suffix`, or `*`. */
  host: string;
  /** A port, or undefined for any. */
  port?: number;
  text: string;
}

export interface Verdict {
  allowed: boolean;
  /** Addresses of this host may be private (the pattern names the host exactly). */
  privateOk: boolean;
  reason?: string;
}

/** Host names that reach a cloud metadata server; never allowed. */
const METADATA_HOSTS = new Set([
  'metadata.google.internal',
  'metadata',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** Parses `ALLOWED_SERVERS`. Throws on a malformed entry (a configuration error, named). */
export function parseAllowlist(text: string | undefined): HostPattern[] {
  if (text === undefined) return [];
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((entry) => {
      const m = /^(\*|\*\.[A-Za-z0-9_.-]+|[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}|\*))?$/.exec(entry);
      if (!m) {
        throw new Error(`ALLOWED_SERVERS: "${entry}" is not host[:port] (host may be *, *.suffix, a name or an IP)`);
      }
      const host = patternHost(m[1]!);
      if (host === undefined) throw new Error(`ALLOWED_SERVERS: "${entry}" does not name a valid host`);
      const port = m[2] === undefined || m[2] === '*' ? undefined : Number(m[2]);
      if (port !== undefined && (port < 1 || port > 65535)) {
        throw new Error(`ALLOWED_SERVERS: port in "${entry}" is out of range`);
      }
      return { host, port, text: entry };
    });
}

/** A pattern's host in the canonical form messages are compared in (`*.suffix` keeps its star). */
function patternHost(written: string): string | undefined {
  if (written === '*') return '*';
  if (written.startsWith('*.')) {
    const suffix = canonicalHost(written.slice(2));
    return suffix === undefined || isIP(suffix) ? undefined : `*.${suffix}`;
  }
  return canonicalHost(written);
}

/** Decides on a server by its canonical name or address (before DNS). */
export function checkHost(server: ServerAddress, patterns: HostPattern[]): Verdict {
  const host = server.host.toLowerCase();
  if (isMetadataHost(host) || isMetadataIp(host)) {
    return { allowed: false, privateOk: false, reason: `"${host}" is a cloud metadata server` };
  }
  let wildcardHit = false;
  for (const p of patterns) {
    if (p.port !== undefined && p.port !== server.port) continue;
    if (p.host === host) return { allowed: true, privateOk: true };
    const suffix = p.host.startsWith('*.') && host.endsWith(p.host.slice(1)) && !isIP(host);
    if (p.host === '*' || suffix) wildcardHit = true;
  }
  if (wildcardHit) {
    const why = isIP(host) ? refusal(host, false) : undefined;
    if (why) return { allowed: false, privateOk: false, reason: `${why} and only a wildcard pattern allows it` };
    return { allowed: true, privateOk: false };
  }
  return {
    allowed: false,
    privateOk: false,
    reason:
      patterns.length === 0
        ? 'no server is allowed: set ALLOWED_SERVERS (or JUPYTER_SERVER) on the function'
        : `${isIP(host) === 6 ? `[${host}]` : host}:${server.port} is not in ALLOWED_SERVERS`,
  };
}

/** True for host names of cloud metadata servers (canonical: lowercase, no trailing dot). */
export function isMetadataHost(host: string): boolean {
  return METADATA_HOSTS.has(host.toLowerCase().replace(/\.$/, ''));
}
