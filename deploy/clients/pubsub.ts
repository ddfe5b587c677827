/**
 * Pub/Sub (@google-cloud/pubsub) for deploy and publish: read a topic, create it with
 * nbtrigger's labels, delete it, publish a message. The PubSub instance is injected; it honours
 * `PUBSUB_EMULATOR_HOST` by itself.
 *
 * Spec: docs/deploy.md (topic ensure; `nbtrigger publish`); https://cloud.google.com/pubsub/docs/emulator.
 * @module
 */
import type { PubSub } from '@google-cloud/pubsub';
import { apiError, GrpcCode, grpcCode } from './errors.js';

/** The topic's labels, or undefined when it does not exist. `name` is `projects/P/topics/T`. */
export async function getTopic(
  pubsub: PubSub,
  name: string,
): Promise<{ name: string; labels: Record<string, string> } | undefined> {
  try {
    const [meta] = await pubsub.topic(name).getMetadata();
    return { name, labels: { ...(meta.labels ?? {}) } };
  } catch (e) {
    if (grpcCode(e) === GrpcCode.NOT_FOUND) return undefined;
    throw apiError(`read Pub/Sub topic ${name}`, e);
  }
}

/** Creates the topic; one that appeared meanwhile (ALREADY_EXISTS) is fine. */
export async function createTopic(pubsub: PubSub, name: string, labels: Record<string, string>): Promise<void> {
  try {
    await pubsub.createTopic({ name, labels });
  } catch (e) {
    if (grpcCode(e) === GrpcCode.ALREADY_EXISTS) return;
    throw apiError(`create Pub/Sub topic ${name}`, e);
  }
}

/** Deletes the topic; one already gone is fine. */
export async function deleteTopic(pubsub: PubSub, name: string): Promise<void> {
  try {
    await pubsub.topic(name).delete();
  } catch (e) {
    if (grpcCode(e) === GrpcCode.NOT_FOUND) return;
    throw apiError(`delete Pub/Sub topic ${name}`, e);
  }
}

/** Publishes UTF-8 `text` (the message) with attributes; answers the message id. */
export async function publishText(
  pubsub: PubSub,
  topic: string,
  text: string,
  attributes: Record<string, string> = {},
): Promise<string> {
  try {
    return await pubsub.topic(topic).publishMessage({ data: Buffer.from(text, 'utf8'), attributes });
  } catch (e) {
    throw apiError(`publish to Pub/Sub topic ${topic}`, e);
  }
}

/** A subscription as the chain check reads it. */
export interface ActualSubscription {
  name: string;
  pushEndpoint?: string;
  deadLetterPolicy?: { deadLetterTopic: string; maxDeliveryAttempts: number };
}

/**
 * The subscriptions attached to a topic (none when the topic does not exist), with their push endpoint and
 * dead-letter policy.
 */
export async function listTopicSubscriptions(pubsub: PubSub, topic: string): Promise<ActualSubscription[]> {
  let names: string[];
  try {
    const [subs] = await pubsub.topic(topic).getSubscriptions();
    names = subs.map((s) => s.name);
  } catch (e) {
    if (grpcCode(e) === GrpcCode.NOT_FOUND) return [];
    throw apiError(`list the subscriptions of Pub/Sub topic ${topic}`, e);
  }
  const out = await Promise.all(
    names.map(async (name): Promise<ActualSubscription | undefined> => {
      try {
        const [meta] = await pubsub.subscription(name).getMetadata();
        const sub: ActualSubscription = { name };
        if (meta.pushConfig?.pushEndpoint) sub.pushEndpoint = meta.pushConfig.pushEndpoint;
        const dl = meta.deadLetterPolicy;
        if (dl?.deadLetterTopic)
          sub.deadLetterPolicy = {
            deadLetterTopic: dl.deadLetterTopic,
            maxDeliveryAttempts: Number(dl.maxDeliveryAttempts ?? 0) || 5,
          };
        return sub;
      } catch (e) {
        if (grpcCode(e) === GrpcCode.NOT_FOUND) return undefined;
        throw apiError(`read Pub/Sub subscription ${name}`, e);
      }
    }),
  );
  return out.filter((s): s is ActualSubscription => s !== undefined);
}

/** Sets a subscription's dead-letter policy only (the update mask the client sends names that field alone). */
export async function setDeadLetterPolicy(
  pubsub: PubSub,
  subscription: string,
  policy: { deadLetterTopic: string; maxDeliveryAttempts: number },
): Promise<void> {
  try {
    await pubsub.subscription(subscription).setMetadata({ deadLetterPolicy: policy });
  } catch (e) {
    throw apiError(`set the dead-letter policy of Pub/Sub subscription ${subscription}`, e);
  }
}
