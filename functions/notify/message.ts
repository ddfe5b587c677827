/**
 * Notification content, pure: the Slack-compatible `{"text": …}` for a run that did not succeed, and
 * the Pub/Sub message (data + attributes) for the results topic. Never holds a token: the record
 * itself never does, and the text is built only from record fields.
 *
 * Spec: docs/function.md; https://api.slack.com/messaging/webhooks (`text`, and
 * `&`, `<`, `>` escaped as entities).
 * @module
 */
import type { RunRecord } from '../run/record.js';

/** A record as notifications see it (identity and outputs when present). */
export type NotifyRecord = RunRecord & {
  runId?: string;
  outputs?: { notebook?: string; html?: string; [k: string]: string | undefined };
};

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

const VERB: Record<RunRecord['status'], string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  timed_out: 'timed out',
  error: 'could not run',
  skipped: 'was skipped',
  dispatched: 'was handed to a job',
};

/**
 * The webhook text: one headline, then the error, the failing cell, the run id and where the
 * executed notebook is. Example: `nbtrigger: reports/daily.ipynb failed after 12.3 s`.
 */
export function failureText(r: NotifyRecord): string {
  const lines = [
    `nbtrigger: ${slackEscape(r.notebook ?? '(unknown notebook)')} ${VERB[r.status]} after ${seconds(r.durationMs)}`,
  ];
  const e = r.error;
  if (e) {
    const what = e.ename ? `${e.ename}${e.evalue ? `: ${e.evalue}` : ''}` : `${e.code}: ${e.message}`;
    const where = typeof e.cellIndex === 'number' ? `cell ${e.cellIndex}: ` : '';
    lines.push(`${where}${slackEscape(clip(what.replace(/\s+/g, ' ').trim(), 500))}`);
  }
  const facts = [r.runId && `run ${r.runId}`, `started ${r.startedAt}`, r.server && `server ${r.server}`].filter(
    Boolean,
  );
  lines.push(slackEscape(facts.join(' · ')));
  if (r.outputs?.notebook) lines.push(`output: ${slackEscape(r.outputs.notebook)}`);
  return lines.join('\n');
}

/** The body posted to the webhook. */
export function webhookBody(r: NotifyRecord): { text: string } {
  return { text: failureText(r) };
}

/** Pub/Sub attribute values must be strings of at most 1024 bytes. */
function attr(v: string): string {
  return Buffer.byteLength(v) <= 1024
    ? v
    : Buffer.from(v)
        .subarray(0, 1024)
        .toString('utf8')
        .replace(/\uFFFD$/, '');
}

/**
 * The results-topic message: the record as JSON, and attributes subscribers can filter on
 * (`status`, `notebook`, `runId`, `messageId` of the triggering message).
 */
export function resultMessage(r: NotifyRecord): { data: Buffer; attributes: Record<string, string> } {
  const attributes: Record<string, string> = { status: r.status, source: 'nbtrigger' };
  if (r.notebook) attributes.notebook = attr(r.notebook);
  if (r.runId) attributes.runId = attr(r.runId);
  if (r.messageId) attributes.triggerMessageId = attr(r.messageId);
  return { data: Buffer.from(JSON.stringify(r), 'utf8'), attributes };
}
