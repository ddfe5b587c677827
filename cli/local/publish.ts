/**
 * Delivers a message to a function the way Pub/Sub (through Eventarc) does: a CloudEvent of
 * type `google.cloud.pubsub.topic.v1.messagePublished` in binary content mode, whose body is
 * the MessagePublishedData. Used by `nbtrigger local` and (later) the local cron.
 *
 * Spec: https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/pubsub/v1/data.proto
 * @module
 */
import { randomUUID } from 'node:crypto';
import { request } from 'undici';

export interface Delivery {
  messageId: string;
  /** HTTP status: 204 acked, 500 retry. */
  status: number;
}

/** POSTs `text` as a Pub/Sub CloudEvent to `url` and waits for the function's answer. */
export async function deliver(url: string, text: string, opts: { topic?: string; project?: string; attributes?: Record<string, string>; messageId?: string } = {}): Promise<Delivery> {
  const messageId = opts.messageId ?? `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const project = opts.project ?? 'local';
  const topic = opts.topic ?? 't_nbtrigger';
  const body = {
    message: { data: Buffer.from(text, 'utf8').toString('base64'), messageId, publishTime: new Date().toISOString(), attributes: opts.attributes ?? {} },
    subscription: `projects/${project}/subscriptions/${topic}-local`,
  };
  const res = await request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': randomUUID(),
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': `//pubsub.googleapis.com/projects/${project}/topics/${topic}`,
      'ce-time': body.message.publishTime,
    },
    body: JSON.stringify(body),
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  await res.body.dump();
  return { messageId, status: res.statusCode };
}
