/**
 * A notebook at an `https://` (or `http://`) URL, read through the guarded connector
 * (security/connector.ts): every address the host resolves to and the connected peer are judged
 * before a byte is written. A `Content-Length` past the cap is refused before the body is read, and
 * the body is counted as it streams. A redirect is followed only within the same origin and only
 * to a URL the allowlist also allows (at most 5); a redirect to another host is refused. The
 * version is the `ETag`, else the sha256 of the bytes.
 *
 * Spec: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3 (ETag), #section-15.4 (redirects).
 * @module
 */
import { Client } from 'undici';
import { NbtError } from '../errors.js';
import { type Connector, undiciConnect } from '../security/connector.js';
import { abortError, collectBounded, type NotebookSource, type SourceRead, tooBig, utf8Text } from './reader.js';
import { type ExternalRef, originOf, parseSourceRef, shownUrl } from './source-ref.js';

type HttpRef = ExternalRef & { kind: 'http' };

export interface HttpSourceOptions {
  /** Opens every connection (the function's guard: metadata and refused addresses never reached). */
  connector: Connector;
  /** Throws when a redirect target may not be read (the allowlist). */
  allow: (ref: ExternalRef) => void;
}

const MAX_REDIRECTS = 5;

/** An HTTP(S) URL as a notebook source. */
export function httpSource(ref: HttpRef, o: HttpSourceOptions): NotebookSource {
  const url = shownUrl(ref);
  const origin = originOf(ref.secure, ref.host, ref.port);
  return {
    url,
    async read(signal: AbortSignal, maxBytes: number): Promise<SourceRead> {
      if (signal.aborted) throw abortError(signal, url);
      const client = new Client(origin, { connect: undiciConnect(o.connector) });
      try {
        let pathQuery = ref.pathQuery;
        for (let hop = 0; ; hop++) {
          const res = await client.request({
            method: 'GET',
            path: pathQuery,
            signal,
            headers: { accept: 'application/x-ipynb+json, application/json, */*' },
          });
          // Abandoning a body (destroy) makes undici emit an abort error: the read already failed with its reason.
          res.body.on('error', () => undefined);
          if (res.statusCode >= 300 && res.statusCode < 400) {
            res.body.resume();
            pathQuery = redirectTarget(ref, pathQuery, res.headers.location, hop, o);
            continue;
          }
          if (res.statusCode !== 200) {
            res.body.resume();
            throw statusError(res.statusCode, url);
          }
          const length = Number(res.headers['content-length'] ?? NaN);
          if (length > maxBytes) {
            res.body.destroy();
            throw tooBig(url, maxBytes);
          }
          const { bytes, sha256 } = await collectBounded(res.body, maxBytes, url).catch((e: unknown) => {
            res.body.destroy();
            throw e;
          });
          const etag = res.headers.etag;
          return { text: utf8Text(bytes, url), url, version: typeof etag === 'string' && etag !== '' ? etag : sha256 };
        }
      } catch (e) {
        throw classify(e, url, signal);
      } finally {
        client.destroy().catch(() => undefined);
      }
    },
  };
}

/** The path of a same-origin redirect the allowlist allows; anything else is refused. */
function redirectTarget(
  ref: HttpRef,
  from: string,
  location: string | string[] | undefined,
  hop: number,
  o: HttpSourceOptions,
): string {
  const origin = originOf(ref.secure, ref.host, ref.port);
  const rejected = (why: string): NbtError => new NbtError('REQUEST_REJECTED', `${shownUrl(ref)}: ${why}`);
  if (hop >= MAX_REDIRECTS) throw rejected(`more than ${MAX_REDIRECTS} redirects`);
  if (typeof location !== 'string') throw rejected('a redirect without a Location');
  const target = new URL(location, `${origin}${from}`).href;
  const next = parseSourceRef(target, { field: 'redirect' });
  if (next.kind !== 'http' || originOf(next.secure, next.host, next.port) !== origin) {
    throw new NbtError('SOURCE_NOT_ALLOWED', `${shownUrl(ref)} redirects to another host (${origin} only): refused`, {
      details: { field: 'notebook' },
    });
  }
  o.allow(next);
  return next.pathQuery;
}

function statusError(status: number, url: string): NbtError {
  if (status === 404 || status === 410) {
    return new NbtError('NOTEBOOK_NOT_FOUND', `notebook "${url}" does not exist (HTTP ${status})`, {
      details: { status, field: 'notebook' },
    });
  }
  if (status === 429 || status >= 500) {
    return new NbtError('SERVER_ERROR', `${url} answered HTTP ${status}`, { details: { status } });
  }
  return new NbtError('REQUEST_REJECTED', `${url} answered HTTP ${status}`, { details: { status } });
}

function classify(e: unknown, url: string, signal: AbortSignal): NbtError {
  if (signal.aborted) return abortError(signal, url);
  if (e instanceof NbtError) return e;
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof NbtError) return cause;
  const message = (e as Error)?.message ?? String(e);
  return new NbtError('SERVER_UNREACHABLE', `${url} not reached: ${message.slice(0, 200)}`, { cause: e });
}
