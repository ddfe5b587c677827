/** The bench's output lines: milliseconds with one decimal, CPU seconds with three, MB as they are. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fmtValue, metricLine, Samples, spreadLine } from '../../../bench/stats.js';

test('a CPU-seconds metric prints three decimals and no "ms"; a time prints "ms" and one decimal', () => {
  const s = new Samples();
  s.addAll({ 'nbtrigger CLI CPU s (1 cell)': 0.4321, 'classic system (1 cell)': 1174.46, 'peak RSS MB': 52.25 });
  s.add('nbtrigger CLI CPU s (1 cell)', 0.5);
  s.add('nbtrigger CLI CPU s (1 cell)', 0.41);
  assert.equal(metricLine('nbtrigger CLI CPU s (1 cell)', s), 'nbtrigger CLI CPU s (1 cell): 0.432');
  assert.equal(metricLine('classic system (1 cell)', s), 'classic system (1 cell) ms: 1174.5');
  assert.equal(metricLine('peak RSS MB', s), 'peak RSS MB: 52.3');
  assert.equal(
    spreadLine('nbtrigger CLI CPU s (1 cell)', s),
    '  nbtrigger CLI CPU s (1 cell): min 0.410 median 0.432 max 0.500 (n=3)\n',
  );
});

test('a missing value is n/a in either unit', () => {
  assert.equal(fmtValue('x CPU s (1 cell)', Number.NaN), 'n/a');
  assert.equal(fmtValue('x (1 cell)', Number.NaN), 'n/a');
  assert.equal(metricLine('never measured', new Samples()), 'never measured ms: n/a');
});
