/** The v1 subprotocol's frames (channel-v1.ts): Jupyter Server's own layout, both ways, and every bad frame refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeV1Frame, encodeV1Frame, splitV1Frame } from '../../../../functions/jupyter/channel-v1.js';
import { decodeFrame } from '../../../../functions/jupyter/channel-frames.js';
import { makeRequest, parseFrame } from '../../../../functions/jupyter/messages.js';
import { RawJsonText } from '../../../../functions/notebook/raw-text.js';

/**
 * A stream message with one buffer, as Jupyter Server 1.23 lays it out:
 * `serialize_msg_to_ws_v1([header, parent, metadata, content, b"\x00\x01\x02"], "iopub")`
 * from jupyter_server.base.zmqhandlers, the parts compact JSON.
 */
const FROM_SERVER = Buffer.from(
  [
    '070000000000000040000000000000004500000000000000b300000000000000c200000000000000c400000000000000',
    'e300000000000000e600000000000000696f7075627b226d73675f6964223a226d31222c226d73675f74797065223a22',
    '73747265616d222c2273657373696f6e223a2273222c22757365726e616d65223a226b222c2264617465223a22323032',
    '362d30312d30315430303a30303a30305a222c2276657273696f6e223a22352e33227d7b226d73675f6964223a227031',
    '227d7b7d7b226e616d65223a227374646f7574222c2274657874223a2268695c6e227d000102',
  ].join(''),
  'hex',
);

/** Lays out a v1 frame from raw parts (channel first), offsets as given by `offsets` when set. */
function frame(parts: Array<string | Buffer>, offsets?: (table: bigint[]) => bigint[], count?: bigint): Buffer {
  const bufs = parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
  const n = bufs.length + 1;
  const table = [BigInt(8 * (n + 1))];
  for (const b of bufs) table.push(table.at(-1)! + BigInt(b.length));
  const head = Buffer.alloc(8 * (n + 1));
  head.writeBigUInt64LE(count ?? BigInt(n), 0);
  for (const [i, o] of (offsets ? offsets(table) : table).entries()) head.writeBigUInt64LE(o, 8 * (i + 1));
  return Buffer.concat([head, ...bufs]);
}

const HEADER = '{"msg_id":"m1","msg_type":"status","session":"s","username":"k","date":"d","version":"5.3"}';

test('a frame laid out by Jupyter Server: its channel, its message, its buffer', () => {
  const f = decodeV1Frame(FROM_SERVER);
  assert.equal(f.channel, 'iopub');
  const m = parseFrame(f.json.toString());
  assert.equal(m.header.msg_type, 'stream');
  assert.equal(m.parent_header.msg_id, 'p1');
  assert.deepEqual(m.metadata, {});
  assert.deepEqual(m.content, { name: 'stdout', text: 'hi\n' });
  assert.deepEqual(f.buffers, [Buffer.from([0, 1, 2])]);
});

test('a request encoded as Jupyter Server reads it: channel, then header, parent, metadata, content', () => {
  const req = makeRequest('sess', 'execute_request', { code: 'print("é")' });
  const bytes = encodeV1Frame(req);
  // deserialize_msg_from_ws_v1: n offsets, the channel between the first two, a part between each next pair.
  const n = Number(bytes.readBigUInt64LE(0));
  const offsets = Array.from({ length: n }, (_, i) => Number(bytes.readBigUInt64LE(8 * (i + 1))));
  assert.equal(n, 6);
  assert.equal(offsets[0], 8 * (n + 1));
  assert.equal(offsets[n - 1], bytes.length);
  const part = (i: number): string => bytes.subarray(offsets[i]!, offsets[i + 1]!).toString();
  assert.equal(part(0), 'shell');
  assert.deepEqual(JSON.parse(part(1)), req.header);
  assert.deepEqual(JSON.parse(part(2)), {});
  assert.deepEqual(JSON.parse(part(3)), {});
  assert.deepEqual(JSON.parse(part(4)), { code: 'print("é")' });
  const back = decodeV1Frame(bytes);
  assert.deepEqual(parseFrame(back.json.toString()).content, req.content);
  assert.deepEqual(back.buffers, []);
});

test('an empty part reads as an empty object (a kernel that sent no metadata)', () => {
  const f = decodeV1Frame(frame(['shell', HEADER, '', '', '{"status":"ok"}']));
  const m = parseFrame(f.json.toString());
  assert.deepEqual(m.metadata, {});
  assert.deepEqual(m.parent_header, {});
  assert.equal(f.channel, 'shell');
});

test("the channel is the frame's: a part that names another channel does not change it", () => {
  const f = decodeV1Frame(frame(['iopub', HEADER, '{}', '{}', '{"execution_state":"idle"},"channel":"shell","x":{}']));
  assert.equal(f.channel, 'iopub');
  assert.equal(parseFrame(f.json.toString()).channel, 'iopub');
});

test('long strings in a v1 frame go through the same decoder: stream text kept as bytes or dropped, others cut', () => {
  const text = 'z'.repeat(200_000);
  const stream = (content: string): Buffer =>
    decodeV1Frame(frame(['iopub', HEADER.replace('status', 'stream'), '{}', '{}', content])).json;
  const json = stream(JSON.stringify({ name: 'stdout', text }));
  assert.equal(String(decodeFrame(json, false, 1000, undefined).content.text), text);
  const dropped = decodeFrame(json, false, 1000, () => true);
  assert.equal(dropped.content.text, '');
  assert.equal(dropped.clipped, true);
  const result = JSON.stringify({ data: { 'text/plain': text }, metadata: {}, execution_count: 1 });
  const head = HEADER.replace('status', 'execute_result');
  const cut = decodeFrame(decodeV1Frame(frame(['iopub', head, '{}', '{}', result])).json, false, 1000, undefined);
  assert.equal(cut.clipped, true);
  assert.equal((cut.content.data as Record<string, string>)['text/plain']!.length, 1000);
});

test("a v1 frame's pieces decode as its whole JSON does, and a stream's text stays a view of the frame", () => {
  const text = 'z'.repeat(200_000);
  const streamFrame = frame([
    'iopub',
    HEADER.replace('status', 'stream'),
    '{"msg_id":"p"}',
    '{}',
    JSON.stringify({ name: 'stdout', text }),
  ]);
  const pieces = splitV1Frame(streamFrame);
  const m = decodeFrame(pieces, false, 1000, undefined);
  assert.deepEqual(
    { ...m, content: { ...m.content, text: String(m.content.text) } },
    { ...parseFrame(decodeV1Frame(streamFrame).json.toString()), content: { name: 'stdout', text } },
  );
  const raw = m.content.text as RawJsonText;
  assert.ok(raw instanceof RawJsonText);
  assert.equal(raw.bytes.buffer, streamFrame.buffer, 'the text is not copied out of the frame');
  const result = JSON.stringify({ data: { 'text/plain': text }, metadata: {}, execution_count: 1 });
  const resultFrame = frame(['iopub', HEADER.replace('status', 'execute_result'), '{}', '{"k":"v"}', result]);
  const cut = decodeFrame(splitV1Frame(resultFrame), false, 1000, undefined);
  assert.equal(cut.clipped, true);
  assert.deepEqual(cut.metadata, { k: 'v' });
  assert.equal((cut.content.data as Record<string, string>)['text/plain'], 'z'.repeat(1000));
  // A long string in the metadata (the head) is cut as well.
  const meta = frame(['iopub', HEADER, '{}', JSON.stringify({ big: text }), '{"execution_state":"idle"}']);
  const m2 = decodeFrame(splitV1Frame(meta), false, 1000, undefined);
  assert.equal(m2.clipped, true);
  assert.equal((m2.metadata as { big: string }).big.length, 1000);
  assert.deepEqual(m2.content, { execution_state: 'idle' });
});

test('bad frames are PROTOCOL_ERRORs naming what is wrong', () => {
  const good = ['iopub', HEADER, '{}', '{}', '{}'];
  const cases: Array<[string, Buffer, RegExp]> = [
    ['too short', Buffer.alloc(4), /too short/],
    ['too few parts', frame(['iopub', HEADER, '{}', '{}']), /offset count/],
    ['a count larger than the frame', frame(good, undefined, 1000n), /offset count/],
    ['a huge count', frame(good, undefined, 2n ** 63n), /offset count/],
    ['offsets out of order', frame(good, (t) => [t[0]!, t[2]!, t[1]!, ...t.slice(3)]), /out of order/],
    [
      'an offset past the end',
      frame(good, (t) => [...t.slice(0, -1), t.at(-1)! + 10n]),
      /out of order or out of range/,
    ],
    ['a first offset inside the table', frame(good, (t) => [t[0]! - 8n, ...t.slice(1)]), /out of order/],
    ['a frame longer than its last offset', Buffer.concat([frame(good), Buffer.from('xx')]), /does not end/],
    ['an unknown channel', frame(['nope', HEADER, '{}', '{}', '{}']), /channel "nope"/],
  ];
  for (const [name, bytes, why] of cases) {
    assert.throws(
      () => decodeV1Frame(bytes),
      (e: { code?: string; message?: string }) => e.code === 'PROTOCOL_ERROR' && why.test(String(e.message)),
      name,
    );
  }
});

test('parts that are not JSON fail in the parser, as a text frame would', () => {
  const f = decodeV1Frame(frame(['iopub', '{"msg_id":', '{}', '{}', '{}']));
  assert.throws(() => parseFrame(f.json.toString()), /not JSON/);
});
