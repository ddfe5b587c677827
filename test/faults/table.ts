/**
 * The fault suite's table: each fault test appends one row (fault, expected, observed, seconds,
 * kernels left) as a JSON line to a file. `npm run test:faults` (run.ts) sets
 * `NBTRIGGER_FAULT_TABLE` to a fresh file and prints the whole table once every file is done;
 * under plain `npm test` (no variable) each file prints its own rows in an `after` hook.
 * Appends of one short line are atomic, so files running in parallel can share the file.
 * Pure (no node:test import): run.ts reads it outside the test runner; `recordRow` is in common.ts.
 * @module
 */
import { readFileSync } from 'node:fs';

export interface FaultRow {
  fault: string;
  expected: string;
  observed: string;
  seconds: number;
  /** Kernels left on the server afterwards (a number), or why it cannot be asked. */
  kernelsLeft: number | string;
}

export const TABLE_ENV = 'NBTRIGGER_FAULT_TABLE';

/** Reads the rows a run collected. */
export function readRows(file: string): FaultRow[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as FaultRow);
}

/** A plain-text table, rows sorted by fault name. */
export function formatTable(rows: FaultRow[]): string {
  const head = ['fault', 'expected', 'observed', 'seconds', 'kernels left'];
  const body = [...rows]
    .sort((a, b) => a.fault.localeCompare(b.fault))
    .map((r) => [r.fault, r.expected, r.observed, r.seconds.toFixed(1), String(r.kernelsLeft)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 3 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}
