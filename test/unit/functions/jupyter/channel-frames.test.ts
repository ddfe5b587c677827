/** Kernel channel frames: the frame limit, the binary frame layout, and one frame's decoding. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binaryFrame, decodeFrame, frameLimit } from '../../../../functions/jupyter/channel-frames.js';

const MiB = 1024 * 1024;

test('frame limit: twice the output cap plus 1 MiB, at least 8 MiB, at most a third of the memory budget', () => {
  assert.equal(frameLimit(16 * MiB, 256 * MiB), 2 * (16 * MiB + 1) + MiB);
  assert.equal(frameLimit(10_000, 256 * MiB), 8 * MiB);
  assert.equal(frameLimit(16 * MiB, 24 * MiB), 8 * MiB);
  assert.equal(frameLimit(64 * MiB, 96 * MiB), 32 * MiB);
  assert.ok(frameLimit(16 * MiB, 256 * MiB) < 512 * MiB);
});

/** `[nbufs][offsets…][json][buffers…]`, the default protocol's binary layout. */
function binary(json: string, ...buffers: Buffer[]): Buffer {
  const parts = [Buffer.from(json), ...buffers];
  const head = 4 + 4 * parts.length;
  const table = Buffer.alloc(head);
  table.writeUInt32BE(parts.length, 0);
  let at = head;
  parts.forEach((p, i) => {
    table.writeUInt32BE(at, 4 + 4 * i);
    at += p.length;
  });
  return Buffer.concat([table, ...parts]);
}

test('binary frame: the JSON and its buffers, split by the offset table', () => {
  const f = binaryFrame(binary('{"a":1}', Buffer.from([1, 2]), Buffer.from([3])));
  assert.equal(f.json.toString(), '{"a":1}');
  assert.deepEqual(
    f.buffers.map((b) => [...b]),
    [[1, 2], [3]],
  );
});

test('binary frame: a short frame, an empty table, offsets out of range are protocol errors', () => {
  for (const bad of [Buffer.alloc(4), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0, 0, 0, 1, 0, 0, 0, 99])]) {
    assert.throws(
      () => binaryFrame(bad),
      (e: { code?: string }) => e.code === 'PROTOCOL_ERROR',
    );
  }
});

function streamFrame(text: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      header: { msg_id: 'm', msg_type: 'stream', session: 's', username: '', date: '', version: '5.3' },
      parent_header: {},
      metadata: {},
      content: { name: 'stdout', text },
      channel: 'iopub',
    }),
  );
}

test('decode: a large stream frame whose cell keeps no more output is dropped unread, marked clipped', () => {
  const m = decodeFrame(streamFrame('x'.repeat(100_000)), false, undefined, () => true);
  assert.equal(m.content.text, '');
  assert.equal(m.clipped, true);
});

test('decode: a large stream frame that is kept holds its whole text', () => {
  const m = decodeFrame(streamFrame('y'.repeat(100_000)), false, undefined, () => false);
  assert.equal(String(m.content.text).length, 100_000);
  assert.notEqual(m.clipped, true);
});

test('decode: in a frame that is not a stream, long strings beyond the cap are cut before decoding', () => {
  const frame = Buffer.from(
    JSON.stringify({
      header: { msg_id: 'm', msg_type: 'execute_result', session: 's', username: '', date: '', version: '5.3' },
      parent_header: {},
      metadata: {},
      channel: 'iopub',
      content: { execution_count: 1, data: { 'text/plain': 'z'.repeat(200_000) }, metadata: {} },
    }),
  );
  const m = decodeFrame(frame, false, 1000, undefined);
  assert.equal(m.clipped, true);
  const text = (m.content.data as Record<string, string>)['text/plain']!;
  assert.ok(text.length <= 1000 && text.length > 0, String(text.length));
});
