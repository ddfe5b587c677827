/** The per-round ratio of two bench cases: pairs by round, a seeded bootstrap interval, n/a when it cannot pair. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fmtPaired, fmtRatios, pairedRatio } from '../../../bench/paired.js';
import { Samples } from '../../../bench/stats.js';

/** Samples of `a` and `b` over rounds 0…n−1; an undefined value is a round the case failed in. */
function samples(a: (number | undefined)[], b: (number | undefined)[]): Samples {
  const s = new Samples();
  for (let r = 0; r < Math.max(a.length, b.length); r++) {
    s.startRound(r);
    if (a[r] !== undefined) s.add('a', a[r]!);
    if (b[r] !== undefined) s.add('b', b[r]!);
  }
  return s;
}

test('the same ratio in every round: median and both ends of the interval are that ratio', () => {
  const p = pairedRatio(samples([110, 220, 330, 440], [100, 200, 300, 400]), 'a', 'b');
  assert.deepEqual(p, { median: 1.1, lo: 1.1, hi: 1.1, n: 4 });
  assert.equal(fmtPaired(p), 'per round 1.10 [95% 1.10–1.10, 4 rounds]');
});

test('pairs by round: a round one case failed in is left out, not shifted onto the next', () => {
  // Round 1 of `a` failed. Paired by index, 300/200 and 400/300 would give ratios of 1.5 and 1.33.
  const p = pairedRatio(samples([100, undefined, 300, 400], [100, 200, 300, 400]), 'a', 'b');
  assert.deepEqual(p, { median: 1, lo: 1, hi: 1, n: 3 });
});

test('a spread of ratios: the interval holds the median, lies within the ratios and is the same on every call', () => {
  const b = Array.from({ length: 40 }, () => 1000);
  const a = b.map((x, i) => x * (0.9 + (((i * 7) % 40) / 40) * 0.2)); // ratios 0.900 … 1.095, shuffled
  const s = samples(a, b);
  const p = pairedRatio(s, 'a', 'b')!;
  assert.equal(p.n, 40);
  assert.ok(p.lo <= p.median && p.median <= p.hi, JSON.stringify(p));
  assert.ok(p.lo >= 0.9 && p.hi <= 1.1 && p.hi - p.lo > 0.01, JSON.stringify(p));
  assert.deepEqual(pairedRatio(s, 'a', 'b'), p);
});

test('n/a: fewer than 3 rounds with both, a metric measured twice in one round, a case never measured', () => {
  assert.equal(pairedRatio(samples([1, 2], [1, 2]), 'a', 'b'), undefined);
  const twice = samples([1, 2, 3], [1, 2, 3]);
  twice.add('a', 4); // a second value in round 2
  assert.equal(pairedRatio(twice, 'a', 'b'), undefined);
  assert.equal(fmtRatios(samples([1, 2, 3], [1, 2, 3]), 'a', 'c'), 'n/a · per round n/a');
  assert.equal(fmtRatios(samples([2, 4, 6], [1, 2, 3]), 'a', 'b'), '2.00 · per round 2.00 [95% 2.00–2.00, 3 rounds]');
});
