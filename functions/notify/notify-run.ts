/**
 * After a run: publishes the record to the results topic (`RESULTS_TOPIC`, every run) and posts
 * failures to the webhook (`NOTIFY_WEBHOOK`, runs that did not succeed), concurrently. Nothing is
 * loaded or sent when neither is set. Never rejects: a notification that fails is a result the caller
 * records as a warning, never a lost or retried run.
 *
 * Spec: docs/function.md.
 * @module
 */
import type { Resolver } from '../security/connector.js';
import { webhookBody, type NotifyRecord } from './message.js';
import { postWebhook, type NotifyResult } from './webhook.js';

/** Configuration read from the environment (see {@link notifyConfig}). */
export interface NotifyConfig {
  resultsTopic?: string;
  projectId?: string;
  webhook?: string;
  timeoutMs?: number;
}

/**
 * Reads `RESULTS_TOPIC`, `NOTIFY_WEBHOOK`, `NOTIFY_TIMEOUT_MS` and the project
 * (`GOOGLE_CLOUD_PROJECT`, else `GCLOUD_PROJECT`). Empty values count as unset.
 */
export function notifyConfig(env: NodeJS.ProcessEnv = process.env): NotifyConfig {
  const c: NotifyConfig = {};
  const get = (k: string): string | undefined => (env[k]?.trim() ? env[k]!.trim() : undefined);
  const topic = get('RESULTS_TOPIC');
  if (topic) c.resultsTopic = topic;
  const project = get('GOOGLE_CLOUD_PROJECT') ?? get('GCLOUD_PROJECT');
  if (project) c.projectId = project;
  const hook = get('NOTIFY_WEBHOOK');
  if (hook) c.webhook = hook;
  const t = Number(get('NOTIFY_TIMEOUT_MS'));
  if (Number.isFinite(t) && t > 0) c.timeoutMs = t;
  return c;
}

/** Sends what is configured for this record; resolves to one result per notification sent. */
export async function notifyRun(
  record: NotifyRecord,
  config: NotifyConfig = notifyConfig(),
  deps: { resolve?: Resolver } = {},
): Promise<NotifyResult[]> {
  const jobs: Array<Promise<NotifyResult>> = [];
  const timeout = config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs };
  if (config.resultsTopic) {
    const topic = config.resultsTopic;
    jobs.push(
      import('./results-topic.js')
        .then((m) =>
          m.publishResult(record, { topic, ...(config.projectId ? { projectId: config.projectId } : {}), ...timeout }),
        )
        .catch((e: unknown) => ({
          channel: 'results-topic' as const,
          target: topic,
          ok: false,
          error: String((e as Error)?.message ?? e),
        })),
    );
  }
  if (config.webhook && record.status !== 'succeeded' && record.status !== 'skipped')
    jobs.push(postWebhook(config.webhook, webhookBody(record), { ...timeout, ...deps }));
  return Promise.all(jobs);
}

/** Warnings for the run record, one per failed notification. */
export function notifyWarnings(results: NotifyResult[]): string[] {
  return results
    .filter((r) => !r.ok)
    .map((r) => `${r.channel} notification to ${r.target} failed: ${r.error ?? 'unknown error'}`);
}
