/**
 * DEBUG lines for kernel messages (a message that says `--verbose`): one line per message, with its
 * content, long strings clipped. A cell printing 50 MB would otherwise put 50 MB into the logs
 * (Cloud Logging drops entries over 256 KB anyway), and decode text that stays bytes on its way to
 * the notebook (raw-text.ts). Stream lines also say how long the text was. A string is redacted
 * before it is cut, and a fragment of a secret left at the cut is redacted too (redact.ts): the
 * logger's own redaction of the whole line cannot see a token the cut has split.
 *
 * Spec: docs/function.md (`--verbose`: DEBUG lines per kernel message);
 * https://cloud.google.com/logging/quotas (log entry size).
 * @module
 */
import type { Logger } from '../log.js';
import { RawJsonText } from '../notebook/raw-text.js';
import { clipRedacted, redactionForms } from '../redact.js';
import type { Message } from './messages.js';

/** Strings in a logged message are cut to this many characters. */
export const LOG_STRING_CHARS = 2000;

/** Writes one DEBUG line for `m`; `secrets` are redacted from every string before it is cut. */
export function logMessage(log: Logger, m: Message, secrets: readonly string[] = []): void {
  const text = m.header.msg_type === 'stream' ? m.content.text : undefined;
  log.log('DEBUG', `kernel ${m.channel} ${m.header.msg_type}`, {
    channel: m.channel,
    msgType: m.header.msg_type,
    parent: m.parent_header.msg_id,
    content: clipped(m.content, 0, secrets),
    ...(typeof text === 'string' || text instanceof RawJsonText ? { textLength: text.length } : {}),
  });
}

function clipped(v: unknown, depth: number, secrets: readonly string[]): unknown {
  if (typeof v === 'string') return v.length > LOG_STRING_CHARS ? clip(v, v.length, secrets) : v;
  if (v instanceof RawJsonText) {
    if (v.length <= LOG_STRING_CHARS) return v.toString();
    // Only what the line keeps is decoded, with room for a secret that the cut splits.
    return clip(v.clip(LOG_STRING_CHARS + 1 + (redactionForms(secrets)[0]?.length ?? 0)).toString(), v.length, secrets);
  }
  if (depth > 8 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => clipped(x, depth + 1, secrets));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clipped(x, depth + 1, secrets)]));
}

function clip(text: string, fullLength: number, secrets: readonly string[]): string {
  return clipRedacted(text, LOG_STRING_CHARS, secrets, `… [${fullLength} characters]`);
}
