/**
 * The collection hint: one young-generation collection per GC_EVERY_BYTES of data, run after the
 * current turn, never more; and the patch's target (the Node whose V8 it was checked on).
 */
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { test } from 'node:test';
import {
  collector,
  GC_EVERY_BYTES,
  GC_HINT_NODE_MAJORS,
  gcHintCount,
  noteGarbage,
} from '../../../../functions/patches/gc-hint.js';

test('asks for a collection once enough bytes passed, after the current turn, and once per threshold', async () => {
  const start = gcHintCount();
  noteGarbage(GC_EVERY_BYTES - 1);
  await turn();
  assert.equal(gcHintCount(), start, 'below the threshold: nothing');
  noteGarbage(1);
  noteGarbage(GC_EVERY_BYTES * 3); // the same turn: still one collection
  assert.equal(gcHintCount(), start, 'not inside the turn that handles the data');
  await turn();
  assert.equal(gcHintCount(), start + 1);
});

test('the running Node is one the patch targets (on an upgrade: re-check the flag, then add the version)', () => {
  const major = Number(process.versions.node.split('.')[0]);
  assert.ok(
    GC_HINT_NODE_MAJORS.includes(major),
    `Node ${process.versions.node} is not among the targeted majors ${GC_HINT_NODE_MAJORS.join(', ')}: check ` +
      "that setFlagsFromString('--expose-gc') still hands out gc and that gc({ type: 'minor' }) runs a " +
      'young-generation collection',
  );
});

test('the targeted Node hands out a collector that takes a minor collection', () => {
  const gc = collector();
  assert.equal(typeof gc, 'function', 'the run-time --expose-gc gave no collector');
  gc!({ type: 'minor' });
});
