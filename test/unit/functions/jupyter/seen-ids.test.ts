/** The window of recently seen message ids: duplicates within it are caught, older ids forgotten. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeenIds } from '../../../../functions/jupyter/seen-ids.js';

test('an id seen before is a duplicate, and counted', () => {
  const s = new SeenIds(10);
  assert.equal(s.check('a'), false);
  assert.equal(s.check('b'), false);
  assert.equal(s.check('a'), true);
  assert.equal(s.check('a'), true);
  assert.equal(s.duplicates, 2);
});

test('the window keeps the last `capacity` ids: the oldest is forgotten first', () => {
  const s = new SeenIds(3);
  for (const id of ['a', 'b', 'c', 'd']) assert.equal(s.check(id), false); // 'a' leaves the window
  assert.equal(s.check('b'), true);
  assert.equal(s.check('c'), true);
  assert.equal(s.check('d'), true);
  assert.equal(s.check('a'), false, 'forgotten, so new again (and it pushes out b)');
  assert.equal(s.check('b'), false);
  assert.equal(s.check('d'), true);
});

test('a million distinct ids keep exactly the window', () => {
  const s = new SeenIds(1000);
  for (let i = 0; i < 1_000_000; i++) s.check(`m${i}`);
  assert.equal(s.check('m999999'), true);
  assert.equal(s.check('m999000'), true);
  assert.equal(s.check('m998999'), false);
  assert.equal(s.duplicates, 2);
});
