/** The bench's seeded order: a permutation each round, reproducible from the seed, with varying neighbours. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { roundOrder, seededRandom } from '../../../bench/seeded.js';

const CASES = Array.from({ length: 12 }, (_, i) => `case ${i}`);

test('the generator is reproducible from its seed and stays in [0, 1)', () => {
  const [a, b, c] = [seededRandom(7), seededRandom(7), seededRandom(8)];
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(
    xs,
    Array.from({ length: 1000 }, () => b()),
  );
  assert.notDeepEqual(
    xs.slice(0, 10),
    Array.from({ length: 10 }, () => c()),
  );
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test('each round is a permutation of the cases, the same for the same seed and round', () => {
  for (let r = 0; r < 20; r++) {
    const order = roundOrder(CASES, 1, r);
    assert.deepEqual([...order].sort(), [...CASES].sort());
    assert.deepEqual(roundOrder(CASES, 1, r), order);
  }
  assert.notDeepEqual(roundOrder(CASES, 1, 0), roundOrder(CASES, 2, 0));
  assert.deepEqual(
    CASES,
    Array.from({ length: 12 }, (_, i) => `case ${i}`),
    'the input is left as it is',
  );
});

test('no case keeps the same neighbour: over 8 rounds each case follows several others', () => {
  // A rotation by one per round keeps every case behind the same predecessor in every round.
  const before = new Map<string, Set<string>>(CASES.map((c) => [c, new Set()]));
  for (let r = 0; r < 8; r++) {
    const order = roundOrder(CASES, 1, r);
    for (let i = 1; i < order.length; i++) before.get(order[i]!)!.add(order[i - 1]!);
  }
  for (const [c, preds] of before) assert.ok(preds.size >= 3, `${c} followed only ${[...preds].join(', ')}`);
});

test('an empty or one-case list comes back as it is', () => {
  assert.deepEqual(roundOrder([], 1, 0), []);
  assert.deepEqual(roundOrder(['only'], 1, 3), ['only']);
});
