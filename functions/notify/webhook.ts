/**
 * Failure webhook: POSTs Slack-compatible `{"text": …}` JSON to `NOTIFY_WEBHOOK`. Bounded by a
 * timeout, never rejects. A webhook URL is a secret (Slack's carries its token in the path), so
 * results and messages name only its origin. The URL comes from the function's environment, and
 * its connection still goes through the guarded connector (security/guard.ts `endpointConnector`):
 * a metadata server is refused always, a non-public address unless the URL names it literally.
 * Redirects are not followed.
 *
 * Spec: docs/function.md (a webhook URL gets failures).
 * @module
 */
import type { Dispatcher } from 'undici';
import { loadUndici } from '../patches/undici-lean.js';
import { undiciConnect, type Resolver } from '../security/connector.js';
import { endpointConnector } from '../security/guard.js';
import { clipRedacted } from '../redact.js';

/** What one notification did. `target` never holds a secret. */
export interface NotifyResult {
  channel: 'webhook' | 'results-topic';
  target: string;
  ok: boolean;
  /** Pub/Sub message id, when published. */
  messageId?: string;
  error?: string;
}

/** `https://hooks.example.com/…`: the URL with its path and query hidden. */
export function webhookTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(invalid URL)';
  }
}

/** Posts `body` as JSON; resolves to a result within `timeoutMs` (default 10 s), whatever happens. */
export async function postWebhook(
  url: string,
  body: unknown,
  opts: { timeoutMs?: number; resolve?: Resolver } = {},
): Promise<NotifyResult> {
  const target = webhookTarget(url);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const secrets = [url];
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`unsupported scheme ${u.protocol}`);
    if (u.pathname.length > 1) secrets.push(u.pathname, u.pathname.slice(1));
    if (u.search) secrets.push(u.search);
    if (u.password) secrets.push(u.password);
    const signal = AbortSignal.timeout(timeoutMs);
    const connector = endpointConnector(u, { resolve: opts.resolve });
    const undici = await loadUndici();
    const client = new undici.Client(u.origin, { connect: undiciConnect(connector) });
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await undici.request.call(client, {
        method: 'POST',
        path: `${u.pathname}${u.search}`,
        headers: { 'content-type': 'application/json', 'user-agent': 'nbtrigger' },
        body: JSON.stringify(body),
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      text = clipRedacted((await res.body.text()).replace(/\s+/g, ' ').trim(), 200, secrets);
    } finally {
      client.destroy().catch(() => undefined);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return { channel: 'webhook', target, ok: true };
    return { channel: 'webhook', target, ok: false, error: `HTTP ${res.statusCode}${text ? ` ${text}` : ''}` };
  } catch (e) {
    const err = e as { name?: string; message?: string };
    const message =
      err?.name === 'TimeoutError' || err?.name === 'AbortError'
        ? `no answer within ${timeoutMs} ms`
        : String(err?.message ?? e);
    return { channel: 'webhook', target, ok: false, error: clipRedacted(message, 300, secrets) };
  }
}
