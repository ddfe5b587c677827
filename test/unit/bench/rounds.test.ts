/** The bench's rounds: every case once per round in a seeded shuffle, a settle before each, warm-ups uncounted. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runRounds, type BenchCase } from '../../../bench/rounds.js';
import { Samples } from '../../../bench/stats.js';

function cases(log: string[], n = 6): BenchCase[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `c${i}`,
    run: async () => {
      log.push(`c${i}`);
      return { [`c${i} ms`]: 10 + i };
    },
  }));
}

test('each round runs every case once, after a settle, in an order of its own; warm-ups are not counted', async () => {
  const log: string[] = [];
  const samples = new Samples();
  const failures = new Map<string, string>();
  const settle = async () => {
    log.push('settle');
    return { waitedMs: 1, quiet: true };
  };
  const names = await runRounds(cases(log), 4, 1, samples, failures, new AbortController().signal, { seed: 5, settle });
  assert.equal(log.length, 5 * 6 * 2);
  for (let i = 0; i < log.length; i += 2) assert.equal(log[i], 'settle', `entry ${i} is a settle`);
  const runs = log.filter((e) => e !== 'settle');
  const rounds = Array.from({ length: 5 }, (_, r) => runs.slice(r * 6, r * 6 + 6));
  for (const r of rounds) assert.deepEqual([...r].sort(), ['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
  // Not a rotation, which keeps every case behind the same one: most cases follow several others.
  const before = new Map<string, Set<string>>();
  for (const r of rounds)
    for (let i = 1; i < r.length; i++) before.set(r[i]!, (before.get(r[i]!) ?? new Set()).add(r[i - 1]!));
  const varied = [...before.values()].filter((s) => s.size >= 2).length;
  assert.ok(varied >= 4, `only ${varied} of 6 cases followed more than one other case`);
  assert.deepEqual(samples.values('c3 ms'), [13, 13, 13, 13], 'the warm-up round is not counted');
  assert.deepEqual(names, ['c0 ms', 'c1 ms', 'c2 ms', 'c3 ms', 'c4 ms', 'c5 ms'], 'names in case order');
  assert.equal(failures.size, 0);
});

test('the same seed gives the same order; a failed case is reported once and the rounds go on', async () => {
  const run = async (seed: number) => {
    const log: string[] = [];
    const failures = new Map<string, string>();
    const list = cases(log, 5);
    list[2] = {
      name: 'broken',
      run: async () => {
        log.push('broken');
        throw new Error('no server');
      },
    };
    const settle = async () => ({ waitedMs: 0, quiet: true });
    await runRounds(list, 3, 0, new Samples(), failures, new AbortController().signal, { seed, settle });
    return { log, failures };
  };
  const [a, b] = [await run(9), await run(9)];
  assert.deepEqual(a.log, b.log);
  assert.equal(a.log.filter((e) => e === 'broken').length, 3);
  assert.deepEqual([...a.failures], [['broken', 'no server']]);
});
