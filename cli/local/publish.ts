/**
 * Delivers a message to a function the way Pub/Sub (through Eventarc) does: a CloudEvent of
 * type `google.cloud.pubsub.topic.v1.messagePublished` whose data is the MessagePublishedData.
 * `deliver` sends it in binary content mode; the builders serve `nbtrigger local`, the local
 * cron and the tests, which send the other forms too.
 *
 * Spec: https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/pubsub/v1/data.proto;
 * https://github.com/cloudevents/spec/blob/main/cloudevents/bindings/http-protocol-binding.md (content modes).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { request } from 'undici';

/** The CloudEvent type Eventarc gives a published Pub/Sub message. */
const PUBSUB_CE_TYPE = 'google.cloud.pubsub.topic.v1.messagePublished';

/** One published message. */
export interface PublishedMessage {
  /** Message text; base64-encoded into `message.data` unless `rawData` is given. */
  text?: string;
  /** `message.data` exactly as given (to send something that is not base64). */
  rawData?: string;
  messageId?: string;
  publishTime?: string;
  attributes?: Record<string, string>;
  /** Default `local`. */
  project?: string;
  /** Default `t_nbtrigger`. */
  topic?: string;
}

/** MessagePublishedData, as Eventarc delivers it. */
export interface MessagePublishedData {
  message: { data: string; messageId: string; publishTime: string; attributes: Record<string, string> };
  subscription: string;
}

/** An HTTP request carrying one event. */
export interface EventRequest {
  /** CloudEvent id (every log line of the invocation carries it). */
  id: string;
  messageId: string;
  headers: Record<string, string>;
  body: string;
}

/** The MessagePublishedData of `m` (a fresh messageId and the current time unless given). */
export function messagePublishedData(m: PublishedMessage): MessagePublishedData {
  const project = m.project ?? 'local';
  return {
    message: {
      data: m.rawData ?? Buffer.from(m.text ?? '', 'utf8').toString('base64'),
      messageId: m.messageId ?? `${Date.now()}${Math.floor(Math.random() * 1e6)}`,
      publishTime: m.publishTime ?? new Date().toISOString(),
      attributes: m.attributes ?? {},
    },
    subscription: `projects/${project}/subscriptions/${m.topic ?? 't_nbtrigger'}-local`,
  };
}

/** The CloudEvent `source` of a message published to the topic. */
function pubsubEventSource(m: Pick<PublishedMessage, 'project' | 'topic'>): string {
  return `//pubsub.googleapis.com/projects/${m.project ?? 'local'}/topics/${m.topic ?? 't_nbtrigger'}`;
}

/** A binary-mode CloudEvent: attributes in `ce-*` headers, the MessagePublishedData as the JSON body. */
export function binaryEvent(m: PublishedMessage & { id?: string }): EventRequest {
  const id = m.id ?? randomUUID();
  const data = messagePublishedData(m);
  return {
    id,
    messageId: data.message.messageId,
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': id,
      'ce-type': PUBSUB_CE_TYPE,
      'ce-source': pubsubEventSource(m),
      'ce-time': data.message.publishTime,
    },
    body: JSON.stringify(data),
  };
}

/** A structured-mode CloudEvent: the whole event in a JSON body, `application/cloudevents+json`. */
export function structuredEvent(m: PublishedMessage & { id?: string }): EventRequest {
  const id = m.id ?? randomUUID();
  const data = messagePublishedData(m);
  const event = {
    specversion: '1.0',
    type: PUBSUB_CE_TYPE,
    source: pubsubEventSource(m),
    id,
    time: data.message.publishTime,
    datacontenttype: 'application/json',
    data,
  };
  return {
    id,
    messageId: data.message.messageId,
    headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    body: JSON.stringify(event),
  };
}

export interface Delivery {
  messageId: string;
  /** HTTP status: 204 acked, 500 retry. */
  status: number;
}

/** POSTs `text` as a Pub/Sub CloudEvent to `url` and waits for the function's answer. */
export async function deliver(
  url: string,
  text: string,
  opts: Pick<PublishedMessage, 'topic' | 'project' | 'attributes' | 'messageId'> = {},
): Promise<Delivery> {
  const event = binaryEvent({ ...opts, text });
  const res = await request(url, {
    method: 'POST',
    headers: event.headers,
    body: event.body,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  await res.body.dump();
  return { messageId: event.messageId, status: res.statusCode };
}
