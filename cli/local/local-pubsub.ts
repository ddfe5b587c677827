/**
 * The local stack's Pub/Sub front: a plaintext gRPC server answering `google.pubsub.v1.Publisher/Publish`
 * for the manifest's topic, so `PUBSUB_EMULATOR_HOST=<its address> nbtrigger publish TOPIC …`
 * (or any Pub/Sub client pointed at an emulator) reaches the local function. Every other RPC
 * answers UNIMPLEMENTED; another topic answers NOT_FOUND.
 *
 * Spec: docs/deploy.md (`nbtrigger publish` reaching it); https://cloud.google.com/pubsub/docs/emulator.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Server, ServerCredentials, status, type ServiceDefinition, type handleUnaryCall } from '@grpc/grpc-js';
import { decodePublishRequest, encodePublishResponse, type PublishRequest, type WireMessage } from './pubsub-wire.js';

export interface LocalPubsub {
  /** `127.0.0.1:PORT`: the value for PUBSUB_EMULATOR_HOST. */
  host: string;
  stop(): Promise<void>;
}

/** Called for each published message with the id it was given; delivery happens after the RPC answers. */
export type OnPublish = (message: WireMessage, messageId: string) => void;

const PUBLISH: ServiceDefinition = {
  Publish: {
    path: '/google.pubsub.v1.Publisher/Publish',
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: unknown) => v as Buffer,
    requestDeserialize: (b: Buffer) => decodePublishRequest(b),
    responseSerialize: (ids: unknown) => encodePublishResponse(ids as string[]),
    responseDeserialize: (b: Buffer) => b,
    originalName: 'publish',
  },
};

/** A message id like Pub/Sub's (digits only: safe as a run id and a file name). */
export function newMessageId(): string {
  return `${Date.now()}${randomBytes(4).readUInt32BE(0).toString().padStart(10, '0')}`;
}

/** Starts the server on 127.0.0.1 (port 0: a free one). `topicName` is `projects/P/topics/T`. */
export async function startLocalPubsub(topicName: string, onPublish: OnPublish, port = 0): Promise<LocalPubsub> {
  const server = new Server();
  const publish: handleUnaryCall<PublishRequest, string[]> = (call, callback) => {
    const req = call.request;
    if (req.topic !== topicName) {
      callback({
        code: status.NOT_FOUND,
        details: `Topic not found: ${req.topic} (the local stack serves ${topicName})`,
      });
      return;
    }
    if (req.messages.length === 0) {
      callback({ code: status.INVALID_ARGUMENT, details: 'no messages' });
      return;
    }
    const ids = req.messages.map(() => newMessageId());
    callback(null, ids);
    req.messages.forEach((m, i) => {
      setImmediate(() => onPublish(m, ids[i]!));
    });
  };
  server.addService(PUBLISH, { Publish: publish });
  const bound = await new Promise<number>((res, rej) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return {
    host: `127.0.0.1:${bound}`,
    stop: () =>
      new Promise<void>((res) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          res();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(t);
          res();
        });
      }),
  };
}
