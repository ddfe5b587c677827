/** validateEvent: the CloudEvent → Pub/Sub message check (the framework does not validate). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NbtError } from '../../../functions/errors.js';
import { validateEvent, type PubsubCloudEvent, type PubsubMessage } from '../../../functions/handler.js';

const message = {
  data: 'aDoxIC9hLmlweW5i',
  messageId: '123',
  publishTime: '2024-01-01T00:00:00.000Z',
  attributes: { a: 'b' },
};

describe('validateEvent accepts', () => {
  const cases: [string, unknown, PubsubMessage][] = [
    [
      'a MessagePublishedData object',
      { message, subscription: 's' },
      { data: message.data, messageId: '123', attributes: { a: 'b' }, publishTime: message.publishTime },
    ],
    [
      'data as a JSON string (binary mode body)',
      JSON.stringify({ message }),
      { data: message.data, messageId: '123', attributes: { a: 'b' }, publishTime: message.publishTime },
    ],
    [
      'data as a Buffer',
      Buffer.from(JSON.stringify({ message })),
      { data: message.data, messageId: '123', attributes: { a: 'b' }, publishTime: message.publishTime },
    ],
    [
      'snake_case ids, no attributes, no data',
      { message: { message_id: 'm1', publish_time: '2024-02-02T00:00:00Z' } },
      { data: '', messageId: 'm1', attributes: {}, publishTime: '2024-02-02T00:00:00Z' },
    ],
    [
      'null attributes',
      { message: { messageId: 'm', attributes: null, data: '' } },
      { data: '', messageId: 'm', attributes: {} },
    ],
    [
      'deliveryAttempt beside the message',
      { message: { messageId: 'm' }, deliveryAttempt: 3 },
      { data: '', messageId: 'm', attributes: {}, deliveryAttempt: 3 },
    ],
    [
      'deliveryAttempt inside the message',
      { message: { messageId: 'm', deliveryAttempt: 2 } },
      { data: '', messageId: 'm', attributes: {}, deliveryAttempt: 2 },
    ],
    [
      'a non-string publishTime is left out',
      { message: { messageId: 'm', publishTime: 5 } },
      { data: '', messageId: 'm', attributes: {} },
    ],
  ];
  for (const [name, data, want] of cases) {
    it(name, () =>
      assert.deepEqual(validateEvent({ id: 'e1', type: 'google.cloud.pubsub.topic.v1.messagePublished', data }), want),
    );
  }
});

describe('validateEvent rejects', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['no event', undefined, 'event', /event is not an object/],
    ['null event', null, 'event', /event is not an object/],
    ['a string event', 'x', 'event', /event is not an object/],
    ['no data', {}, 'data', /event has no data/],
    ['data not JSON', { data: 'not json' }, 'data', /event data is not JSON/],
    ['data a JSON number', { data: '5' }, 'data', /event has no data/],
    ['no message', { data: { subscription: 's' } }, 'data.message', /no "message" object/],
    ['message a string', { data: { message: 'hi' } }, 'data.message', /no "message" object/],
    ['no messageId', { data: { message: { data: 'aA==' } } }, 'data.message.messageId', /message has no messageId/],
    ['empty messageId', { data: { message: { messageId: '' } } }, 'data.message.messageId', /no messageId/],
    ['numeric messageId', { data: { message: { messageId: 7 } } }, 'data.message.messageId', /no messageId/],
    [
      'attributes a list',
      { data: { message: { messageId: 'm', attributes: ['a'] } } },
      'data.message.attributes',
      /object of strings/,
    ],
    [
      'attribute not a string',
      { data: { message: { messageId: 'm', attributes: { a: 1 } } } },
      'data.message.attributes',
      /object of strings/,
    ],
    [
      'attributes a string',
      { data: { message: { messageId: 'm', attributes: 'a=b' } } },
      'data.message.attributes',
      /object of strings/,
    ],
    [
      'data a number',
      { data: { message: { messageId: 'm', data: 5 } } },
      'data.message.data',
      /must be a base64 string/,
    ],
    [
      'data an object',
      { data: { message: { messageId: 'm', data: { a: 1 } } } },
      'data.message.data',
      /must be a base64 string/,
    ],
  ];
  for (const [name, event, field, re] of cases) {
    it(name, () => {
      assert.throws(
        () => validateEvent(event as PubsubCloudEvent),
        (e: unknown) => {
          assert.ok(e instanceof NbtError);
          assert.equal(e.code, 'BAD_MESSAGE');
          assert.equal(e.retryable, false);
          assert.equal(e.details.field, field);
          assert.match(e.message, re);
          return true;
        },
      );
    });
  }
});
