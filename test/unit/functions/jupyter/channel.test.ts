/** The WebSocket frame limit the kernel channel is opened with. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameLimit } from '../../../../functions/jupyter/channel.js';

const MiB = 1024 * 1024;

test('frame limit: twice the output cap plus 1 MiB, at least 8 MiB, at most a third of the memory budget', () => {
  assert.equal(frameLimit(16 * MiB, 256 * MiB), 2 * (16 * MiB + 1) + MiB);
  assert.equal(frameLimit(10_000, 256 * MiB), 8 * MiB);
  assert.equal(frameLimit(16 * MiB, 24 * MiB), 8 * MiB);
  assert.equal(frameLimit(64 * MiB, 96 * MiB), 32 * MiB);
  assert.ok(frameLimit(16 * MiB, 256 * MiB) < 512 * MiB);
});
