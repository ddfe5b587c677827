/**
 * Server addresses in messages: `HOST[:PORT]` with no scheme (the classic form), or
 * `http(s)://HOST[:PORT]` where a scheme is allowed (JSON form, env, CLI). Pure.
 *
 * Every host is canonicalised once, as a WHATWG URL parser (and so the HTTP client) reads it:
 * `2130706433`, `0x7f.1`, `0177.0.0.1` and `127.1` are all `127.0.0.1`, `[0:0::1]` is `::1`,
 * names are lowercased (IDN to punycode) and lose a trailing dot. Every decision (allowlist,
 * address policy) and every later use (URLs, Host header, logs) sees only that form.
 *
 * `--use-https` means https/wss, otherwise http/ws; the port defaults follow the scheme.
 * Spec: https://url.spec.whatwg.org/#host-parsing
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { NbtError } from '../errors.js';

/** Where a Jupyter server lives. */
export interface ServerAddress {
  host: string;
  port: number;
  secure: boolean;
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/**
 * Parses `HOST[:PORT]`, `[IPV6]:PORT` or, when `allowScheme`, `http(s)://HOST[:PORT][/]`.
 * `useHttps` picks the scheme when none is written; a written scheme that contradicts it is an error.
 * @param field names the message field in error messages.
 */
export function parseServer(text: string, useHttps: boolean, field: string, allowScheme = true): ServerAddress {
  let rest = text.trim();
  let secure = useHttps;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (scheme) {
    const s = scheme[1]!.toLowerCase();
    if (!allowScheme) throw bad(field, text, 'HOST[:PORT] is written without a scheme; add --use-https for https');
    if (s !== 'http' && s !== 'https') throw bad(field, text, `scheme "${s}" is not http or https`);
    if (s === 'http' && useHttps) throw bad(field, text, 'http:// contradicts --use-https');
    secure = s === 'https';
    rest = rest.slice(scheme[0].length).replace(/\/+$/, '');
  }
  if (rest === '') throw bad(field, text, 'host is empty');
  if (/[/?#@\s\\]/.test(rest)) throw bad(field, text, 'expected HOST[:PORT] with no path, query, user or spaces');
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) throw bad(field, text, 'unclosed [ in IPv6 address');
    host = rest.slice(1, end);
    const after = rest.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) throw bad(field, text, 'expected :PORT after ]');
    portText = after === '' ? undefined : after.slice(1);
    // No zone ids (`%eth0`): they are host-local and do not belong in a message.
    if (!isIPv6(host) || host.includes('%')) throw bad(field, text, 'not an IPv6 address inside [ ]');
    host = canonicalHost(`[${host}]`)!;
  } else {
    const parts = rest.split(':');
    if (parts.length > 2) throw bad(field, text, 'IPv6 addresses must be written in [brackets]');
    const written = parts[0]!;
    portText = parts[1];
    const canonical = canonicalHost(written);
    if (canonical === undefined) {
      throw bad(field, text, `"${clip(written, 64)}" is not a valid host name or IPv4 address`);
    }
    host = canonical;
  }
  let port = secure ? 443 : 80;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) throw bad(field, text, `port "${portText}" is not a number`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw bad(field, text, `port ${port} is out of range 1-65535`);
  }
  return { host, port, secure };
}

/**
 * The canonical form of a host as written (`[v6]` in brackets): what a WHATWG URL parser makes
 * of it (IPv4 in dotted decimal, IPv6 compressed and lowercase, names lowercase in punycode),
 * without brackets and without a name's trailing dot; undefined when it is not a valid host.
 */
export function canonicalHost(written: string): string | undefined {
  if (written === '' || /[\s/?#@\\]/.test(written)) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`http://${written}/`).hostname;
  } catch {
    return undefined;
  }
  if (hostname.startsWith('[')) return written.startsWith('[') ? hostname.slice(1, -1) : undefined;
  if (isIPv4(hostname)) return hostname;
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return HOST_RE.test(name) && name.length <= 253 ? name : undefined;
}

function bad(field: string, value: string, why: string): NbtError {
  return new NbtError('BAD_MESSAGE', `${field}: ${why} (got "${clip(hideCredentials(value))}")`, {
    details: { field },
  });
}

/** Blanks a query string and user info, where a token may hide (`?token=…`, `user:pass@`), before echoing. */
function hideCredentials(value: string): string {
  return value.replace(/[?#].*$/s, '?…').replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^/?#\s]*@/, '$1…@');
}

/** Shortens a value for an error message. */
export function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** `host` as it appears in a URL authority (IPv6 bracketed). */
function authority(a: ServerAddress): string {
  return a.host.includes(':') ? `[${a.host}]` : a.host;
}

/** True when the port is the scheme's default and can be left out. */
function defaultPort(a: ServerAddress): boolean {
  return a.port === (a.secure ? 443 : 80);
}

/** `http(s)://host:port` without a trailing slash. */
export function httpBase(a: ServerAddress): string {
  return `${a.secure ? 'https' : 'http'}://${authority(a)}${defaultPort(a) ? '' : `:${a.port}`}`;
}

/** `ws(s)://host:port` without a trailing slash. */
export function wsBase(a: ServerAddress): string {
  return `${a.secure ? 'wss' : 'ws'}://${authority(a)}${defaultPort(a) ? '' : `:${a.port}`}`;
}

/** `HOST:PORT` as written in a classic message (scheme carried by `--use-https`). */
export function hostPort(a: ServerAddress): string {
  return `${authority(a)}:${a.port}`;
}
