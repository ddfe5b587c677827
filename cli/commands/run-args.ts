/**
 * The values of `nbtrigger run`'s own argument forms that parseArgs does not read: the two-value
 * `-p NAME VALUE` parameters, and the seconds and counts of its limit flags, each rejected with a
 * message naming the flag.
 *
 * Spec: docs/running.md (options).
 * @module
 */
import { NbtError } from '../../functions/errors.js';

/**
 * Pulls `-p NAME VALUE` / `--parameter NAME VALUE` pairs out of argv (parseArgs takes one value per
 * option).
 */
export function takeParameterPairs(argv: string[]): { rest: string[]; pairs: Array<[string, string]> } {
  const rest: string[] = [];
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '-p' || a === '--parameter') {
      if (i + 2 >= argv.length) throw new Error(`${a} takes NAME VALUE`);
      pairs.push([argv[i + 1]!, argv[i + 2]!]);
      i += 2;
    } else rest.push(a);
  }
  return { rest, pairs };
}

/** A `--…timeout SEC` value in ms; undefined when the flag is absent. */
export function seconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new NbtError('USAGE', `${flag} takes a number of seconds > 0, got "${v}"`);
  return n * 1000;
}

/** A whole number > 0 (`--max-output CHARS`); undefined when the flag is absent. */
export function count(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new NbtError('USAGE', `${flag} takes a whole number > 0, got "${v}"`);
  return n;
}
