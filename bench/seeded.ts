/**
 * Seeded randomness for the bench: the same seed always gives the same numbers, so a run's case
 * order and its bootstrap intervals can be reproduced (`BENCH_SEED`).
 * @module
 */

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let x = Math.imul(t ^ (t >>> 15), 1 | t);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The order of the cases in round `round`: a shuffle (Fisher–Yates) drawn from `seed` and the round.
 * A rotation keeps every case behind the same neighbour in every round, so whatever one case leaves
 * running (a kernel still exiting, a pool refilling) always lands on the same next case; a shuffle
 * gives each case a different neighbour each round.
 */
export function roundOrder<T>(items: readonly T[], seed: number, round: number): T[] {
  const rand = seededRandom(Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca77));
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
