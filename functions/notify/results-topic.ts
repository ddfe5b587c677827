/**
 * Results topic: publishes the run record to `RESULTS_TOPIC` with the real `@google-cloud/pubsub`
 * client, imported only when a topic is configured. The client honours `PUBSUB_EMULATOR_HOST`. One
 * client per publish, closed afterwards (a run publishes once). Bounded by a timeout; never rejects.
 *
 * Spec: docs/function.md (a results Pub/Sub topic gets the run record).
 * @module
 */
import { redact } from '../log.js';
import { resultMessage, type NotifyRecord } from './message.js';
import type { NotifyResult } from './webhook.js';

export interface ResultsTopicOptions {
  /** `projects/P/topics/T`, or `T` with `projectId` (or the client's detected project). */
  topic: string;
  projectId?: string;
  timeoutMs?: number;
}

/** Pub/Sub's limit is 10 MB per message; leave room for attributes. */
const MAX_DATA_BYTES = 9 * 1024 * 1024;

/** Splits `projects/P/topics/T` into its parts; a bare name keeps `projectId` as given. */
export function parseTopic(topic: string, projectId?: string): { projectId?: string; name: string } {
  const m = /^projects\/([^/]+)\/topics\/([^/]+)$/.exec(topic.trim());
  if (m) return { projectId: m[1]!, name: m[2]! };
  if (!/^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/.test(topic.trim()))
    throw new Error(`invalid topic name ${JSON.stringify(topic)}`);
  return projectId ? { projectId, name: topic.trim() } : { name: topic.trim() };
}

/** Publishes the record; resolves to a result (with the message id) within the timeout. */
export async function publishResult(record: NotifyRecord, opts: ResultsTopicOptions): Promise<NotifyResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let target = opts.topic;
  let client: { close(): Promise<void> } | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const t = parseTopic(opts.topic, opts.projectId);
    target = t.projectId ? `projects/${t.projectId}/topics/${t.name}` : t.name;
    let msg = resultMessage(record);
    if (msg.data.byteLength > MAX_DATA_BYTES) {
      const { lastResult: _dropped, ...rest } = record;
      msg = resultMessage({
        ...rest,
        warnings: [...record.warnings, 'lastResult left out of the results message (too large)'],
      });
    }
    const { PubSub } = await import('@google-cloud/pubsub');
    const pubsub = new PubSub(t.projectId ? { projectId: t.projectId } : {});
    client = pubsub;
    const publish = pubsub.topic(t.name).publishMessage(msg);
    publish.catch(() => undefined);
    const messageId = await Promise.race([
      publish,
      new Promise<never>((_r, rej) => {
        timer = setTimeout(() => rej(new Error(`publish did not finish within ${timeoutMs} ms`)), timeoutMs);
        timer.unref();
      }),
    ]);
    return { channel: 'results-topic', target, ok: true, messageId };
  } catch (e) {
    const m = (e as { message?: unknown })?.message;
    return {
      channel: 'results-topic',
      target,
      ok: false,
      error: redact(String(typeof m === 'string' ? m : e), []).slice(0, 300),
    };
  } finally {
    if (timer) clearTimeout(timer);
    await client?.close().catch(() => undefined);
  }
}
