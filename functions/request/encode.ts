/**
 * Encoding a run request as a message, the inverse of grammar.ts: `parseMessage(encodeMessage(r))`
 * deep-equals `r` (test/unit/deploy/message-roundtrip.test.ts). The deploy module and the local
 * cron write messages with it. Pure: no I/O.
 *
 * Spec: docs/function.md (the message, both forms).
 * @module
 */
import { NbtError } from '../errors.js';
import { stringifyExactJson, type ParamValue } from '../notebook/translators/values.js';
import { hostPort } from './address.js';
import type { RunRequest } from './grammar.js';

/** True when the request fits the classic form exactly (nothing but server, notebook, https, verbose). */
export function isClassic(req: RunRequest): boolean {
  return (
    req.kernelName === undefined &&
    req.sequential === undefined &&
    Object.keys(req.timeouts).length === 0 &&
    req.parameters === undefined &&
    req.output === undefined &&
    req.runKey === undefined &&
    !/\s/.test(notebookText(req)) &&
    req.kernelOnly === undefined &&
    req.kernelCwd === undefined
  );
}

/** Encodes a request in the classic form. Throws when it does not fit (see {@link isClassic}). */
export function encodeClassic(req: RunRequest): string {
  if (!isClassic(req))
    throw new NbtError('BAD_MESSAGE', 'request has fields the classic form cannot carry; use encodeMessage');
  const parts = [hostPort(req.server), notebookText(req)];
  if (req.server.secure) parts.push('--use-https');
  if (req.verbose) parts.push('--verbose');
  return parts.join(' ');
}

/** Encodes a request in the rich JSON form (stable key order). */
export function encodeRich(req: RunRequest): string {
  const o: Record<string, unknown> = { server: hostPort(req.server), notebook: notebookText(req) };
  if (req.server.secure) o.useHttps = true;
  if (req.verbose) o.verbose = true;
  if (req.kernelName !== undefined) o.kernelName = req.kernelName;
  if (req.sequential !== undefined) o.sequential = req.sequential;
  if (Object.keys(req.timeouts).length > 0) o.timeouts = req.timeouts;
  if (req.parameters !== undefined) o.parameters = req.parameters;
  if (req.output !== undefined) o.output = req.output;
  if (req.runKey !== undefined) o.runKey = req.runKey;
  if (req.kernelOnly !== undefined) o.kernelOnly = req.kernelOnly;
  if (req.kernelCwd !== undefined) o.kernelCwd = req.kernelCwd;
  return stringifyExactJson(o as ParamValue);
}

/** The notebook as a message names it: the source's full URL, or the server path. */
function notebookText(req: RunRequest): string {
  return req.source ? req.source.url : `/${req.notebook}`;
}

/** Encodes in the classic form when it fits, else JSON. `parseMessage(encodeMessage(r))` deep-equals `r`. */
export function encodeMessage(req: RunRequest): string {
  return isClassic(req) ? encodeClassic(req) : encodeRich(req);
}

/** Base64 Pub/Sub `data` for a request. */
export function encodeData(req: RunRequest): string {
  return Buffer.from(encodeMessage(req), 'utf8').toString('base64');
}
