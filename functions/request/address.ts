/**
 * Server addresses in messages: `HOST[:PORT]` with no scheme (the classic form), or
 * `http(s)://HOST[:PORT]` where a scheme is allowed (JSON form, env, CLI). Pure.
 *
 * Spec: ../shared/design/README.md §2 — `--use-https` means https/wss, otherwise http/ws;
 * the port defaults follow the scheme.
 * @module
 */
import { isIPv6 } from 'node:net';
import { NbtError } from '../errors.js';

/** Where a Jupyter server lives. */
export interface ServerAddress {
  host: string;
  port: number;
  secure: boolean;
}

const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

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
  if (/[/?#@\s]/.test(rest)) throw bad(field, text, 'expected HOST[:PORT] with no path, query, user or spaces');
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
  } else {
    const parts = rest.split(':');
    if (parts.length > 2) throw bad(field, text, 'IPv6 addresses must be written in [brackets]');
    host = parts[0]!;
    portText = parts[1];
    if (!HOST_RE.test(host)) throw bad(field, text, `"${host}" is not a valid host name or IPv4 address`);
  }
  let port = secure ? 443 : 80;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) throw bad(field, text, `port "${portText}" is not a number`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw bad(field, text, `port ${port} is out of range 1-65535`);
  }
  return { host: host.toLowerCase(), port, secure };
}

function bad(field: string, value: string, why: string): NbtError {
  return new NbtError('BAD_MESSAGE', `${field}: ${why} (got "${clip(hideCredentials(value))}")`, { details: { field } });
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
