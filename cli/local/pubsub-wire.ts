/**
 * The protobuf wire form of the one Pub/Sub RPC the local stack answers, `Publisher.Publish`:
 * decode a `PublishRequest`, encode a `PublishResponse`. Hand-written (a dozen fields' worth of
 * protobuf) so the local stack needs no .proto loader. Pure: no I/O.
 *
 * Spec: https://github.com/googleapis/googleapis/blob/master/google/pubsub/v1/pubsub.proto
 * (PublishRequest: topic = 1, messages = 2; PubsubMessage: data = 1, attributes = 2 (map),
 * message_id = 3, publish_time = 4, ordering_key = 5; PublishResponse: message_ids = 1);
 * https://protobuf.dev/programming-guides/encoding/.
 * @module
 */

export interface WireMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey?: string;
}

export interface PublishRequest {
  topic: string;
  messages: WireMessage[];
}

interface Field {
  no: number;
  wire: number;
  value: bigint | Buffer;
}

/** Splits a protobuf message into its fields (unknown fields are kept, in order). Throws on malformed input. */
export function readFields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (i >= buf.length || shift > 63n) throw new Error('protobuf: truncated varint');
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (no === 0) throw new Error('protobuf: field number 0');
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new Error('protobuf: truncated length-delimited field');
      out.push({ no, wire, value: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (i + n > buf.length) throw new Error('protobuf: truncated fixed field');
      out.push({ no, wire, value: buf.subarray(i, i + n) });
      i += n;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
  return out;
}

const bytesOf = (f: Field): Buffer => {
  if (f.wire !== 2) throw new Error(`protobuf: field ${f.no} is not length-delimited`);
  return f.value as Buffer;
};

/** Decodes `google.pubsub.v1.PublishRequest`. */
export function decodePublishRequest(buf: Buffer): PublishRequest {
  const req: PublishRequest = { topic: '', messages: [] };
  for (const f of readFields(buf)) {
    if (f.no === 1) req.topic = bytesOf(f).toString('utf8');
    else if (f.no === 2) req.messages.push(decodeMessage(bytesOf(f)));
  }
  return req;
}

function decodeMessage(buf: Buffer): WireMessage {
  const m: WireMessage = { data: Buffer.alloc(0), attributes: {} };
  for (const f of readFields(buf)) {
    if (f.no === 1) m.data = Buffer.from(bytesOf(f));
    else if (f.no === 2) {
      let key = '';
      let value = '';
      for (const e of readFields(bytesOf(f))) {
        if (e.no === 1) key = bytesOf(e).toString('utf8');
        else if (e.no === 2) value = bytesOf(e).toString('utf8');
      }
      m.attributes[key] = value;
    } else if (f.no === 5) m.orderingKey = bytesOf(f).toString('utf8');
  }
  return m;
}

function encodeVarint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** A length-delimited field. */
function lengthDelimited(no: number, value: Buffer | string): Buffer {
  const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([encodeVarint((no << 3) | 2), encodeVarint(b.length), b]);
}

/** Encodes `google.pubsub.v1.PublishResponse`. */
export function encodePublishResponse(messageIds: string[]): Buffer {
  return Buffer.concat(messageIds.map((id) => lengthDelimited(1, id)));
}

/** Encodes a `PublishRequest` (tests, and a client without the library). */
export function encodePublishRequest(req: PublishRequest): Buffer {
  return Buffer.concat([
    lengthDelimited(1, req.topic),
    ...req.messages.map((m) =>
      lengthDelimited(
        2,
        Buffer.concat([
          lengthDelimited(1, m.data),
          ...Object.entries(m.attributes).map(([k, v]) =>
            lengthDelimited(2, Buffer.concat([lengthDelimited(1, k), lengthDelimited(2, v)])),
          ),
          ...(m.orderingKey ? [lengthDelimited(5, m.orderingKey)] : []),
        ]),
      ),
    ),
  ]);
}
