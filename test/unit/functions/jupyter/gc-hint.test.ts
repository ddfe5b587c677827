/** The collection hint: one young-generation collection per GC_EVERY_BYTES of data, run after the current turn, never more. */
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { test } from 'node:test';
import { gcHintCount, GC_EVERY_BYTES, noteGarbage } from '../../../../functions/jupyter/gc-hint.js';

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
