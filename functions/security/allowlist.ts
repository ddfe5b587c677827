/**
 * SSRF policy, pure: which servers a message may point the function at. `ALLOWED_SERVERS` is
 * a comma/space separated list of `host[:port]` patterns — an exact host or IP, `*.suffix`
 * for subdomains, or `*` for any public host; the port may be `*`. Cloud metadata endpoints
 * are refused always; private, loopback and link-local addresses only when an exact
 * (non-wildcard) pattern names the host.
 *
 * Spec: issue "Reliability and security …" (SSRF).
 * @module
 */
import { isIP } from 'node:net';
import type { ServerAddress } from '../request/address.js';

export interface HostPattern {
  /** Lowercased host, `*.suffix`, or `*`. */
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
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.google.internal.', 'metadata', 'metadata.goog']);

/** Parses `ALLOWED_SERVERS`. Throws on a malformed entry (a configuration error, named). */
export function parseAllowlist(text: string | undefined): HostPattern[] {
  if (text === undefined) return [];
  return text.split(/[\s,]+/).filter(Boolean).map((entry) => {
    const m = /^(\*|(?:\*\.)?[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}|\*))?$/.exec(entry);
    if (!m) throw new Error(`ALLOWED_SERVERS: "${entry}" is not host[:port] (host may be *, *.suffix, a name or an IP)`);
    const host = m[1]!.replace(/^\[|\]$/g, '').toLowerCase();
    const port = m[2] === undefined || m[2] === '*' ? undefined : Number(m[2]);
    if (port !== undefined && (port < 1 || port > 65535)) throw new Error(`ALLOWED_SERVERS: port in "${entry}" is out of range`);
    return { host, port, text: entry };
  });
}

/** Decides on a server by name (before DNS). */
export function checkHost(server: ServerAddress, patterns: HostPattern[]): Verdict {
  const host = server.host.toLowerCase();
  if (METADATA_HOSTS.has(host) || isMetadataIp(host)) return { allowed: false, privateOk: false, reason: `"${host}" is a cloud metadata server` };
  let wildcardHit = false;
  for (const p of patterns) {
    if (p.port !== undefined && p.port !== server.port) continue;
    if (p.host === host) return { allowed: true, privateOk: true };
    if (p.host === '*' || (p.host.startsWith('*.') && host.endsWith(p.host.slice(1)) && host.length > p.host.length - 1)) wildcardHit = true;
  }
  if (wildcardHit) {
    if (isIP(host) && isPrivateAddress(host)) return { allowed: false, privateOk: false, reason: `${host} is a private address and only a wildcard pattern allows it` };
    return { allowed: true, privateOk: false };
  }
  return {
    allowed: false, privateOk: false,
    reason: patterns.length === 0
      ? 'no server is allowed: set ALLOWED_SERVERS (or JUPYTER_SERVER) on the function'
      : `${host}:${server.port} is not in ALLOWED_SERVERS`,
  };
}

/** True for addresses of cloud metadata servers (GCP, AWS, Azure: 169.254.169.254; fd00:ec2::254). */
export function isMetadataIp(ip: string): boolean {
  const v4 = mappedV4(ip);
  return v4 === '169.254.169.254' || ip.toLowerCase() === 'fd00:ec2::254';
}

/**
 * True for loopback, private, link-local, CGNAT, unspecified, multicast and other non-public
 * addresses (IPv4, IPv6 and IPv4-mapped IPv6).
 */
export function isPrivateAddress(ip: string): boolean {
  const v4 = mappedV4(ip);
  if (v4 !== undefined) {
    const [a, b] = v4.split('.').map(Number) as [number, number];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19)) || a >= 224;
  }
  const x = ip.toLowerCase();
  if (x === '::' || x === '::1') return true;
  const first = parseInt(x.split(':')[0] || '0', 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00 || x.startsWith('64:ff9b:') || x.startsWith('2001:db8:');
}

/** The IPv4 form of an IPv4 or IPv4-mapped IPv6 address, else undefined. */
function mappedV4(ip: string): string | undefined {
  if (isIP(ip) === 4) return ip;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return m[1];
  const h = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (h) {
    const hi = parseInt(h[1]!, 16);
    const lo = parseInt(h[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}
