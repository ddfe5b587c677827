/**
 * The Pub/Sub CloudEvent at the function's boundary: its shape, validated before anything else
 * reads it. Pure. functions-framework does not validate events, so this module does, naming the
 * bad field.
 *
 * Spec: https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/pubsub/v1/data.proto
 * @module
 */
import { NbtError } from './errors.js';

/** The parts of a CloudEvent the handler reads (functions-framework's CloudEvent fits). */
export interface PubsubCloudEvent {
  id?: string;
  type?: string;
  source?: string;
  data?: unknown;
}

/** A validated Pub/Sub message (MessagePublishedData.message). */
export interface PubsubMessage {
  data: string;
  messageId: string;
  attributes: Record<string, string>;
  publishTime?: string;
  deliveryAttempt?: number;
}

/** Checks the CloudEvent's Pub/Sub payload; throws BAD_MESSAGE naming the bad field. */
export function validateEvent(event: PubsubCloudEvent): PubsubMessage {
  if (typeof event !== 'object' || event === null) throw bad('event', 'event is not an object');
  let data = event.data;
  // functions-framework converts a raw Pub/Sub push body (`{message, subscription}`) into a CloudEvent
  // only when message.data is non-empty; otherwise the body itself arrives as the "event".
  if (data === undefined && typeof (event as { message?: unknown }).message === 'object') data = event;
  if (typeof data === 'string' || Buffer.isBuffer(data)) {
    try {
      data = JSON.parse(data.toString());
    } catch {
      throw bad('data', 'event data is not JSON (expected a Pub/Sub MessagePublishedData)');
    }
  }
  if (typeof data !== 'object' || data === null)
    throw bad('data', 'event has no data (expected a Pub/Sub MessagePublishedData)');
  const msg = (data as Record<string, unknown>).message;
  if (typeof msg !== 'object' || msg === null) throw bad('data.message', 'event data has no "message" object');
  const m = msg as Record<string, unknown>;
  const messageId = m.messageId ?? m.message_id;
  if (typeof messageId !== 'string' || messageId === '')
    throw bad('data.message.messageId', 'message has no messageId');
  const attributes = m.attributes ?? {};
  if (
    typeof attributes !== 'object' ||
    attributes === null ||
    Array.isArray(attributes) ||
    Object.values(attributes).some((v) => typeof v !== 'string')
  ) {
    throw bad('data.message.attributes', 'message attributes must be an object of strings');
  }
  if (m.data !== undefined && typeof m.data !== 'string')
    throw bad('data.message.data', 'message data must be a base64 string');
  const out: PubsubMessage = {
    data: (m.data as string | undefined) ?? '',
    messageId,
    attributes: attributes as Record<string, string>,
  };
  const publishTime = m.publishTime ?? m.publish_time;
  if (typeof publishTime === 'string') out.publishTime = publishTime;
  const attempt = (data as Record<string, unknown>).deliveryAttempt ?? m.deliveryAttempt;
  if (typeof attempt === 'number') out.deliveryAttempt = attempt;
  return out;
}

function bad(field: string, message: string): NbtError {
  return new NbtError('BAD_MESSAGE', message, { details: { field } });
}
