/**
 * Shared pieces of the fault suite: one runner call with the wall time, the kernels left on a
 * server, stream text of a cell, and the record of a row in the final table.
 * @module
 */
import type { IStream } from '@jupyterlab/nbformat';
import { appendFileSync } from 'node:fs';
import { after } from 'node:test';
import { parseMessage, type RunRequest } from '../../functions/request/grammar.js';
import { runNotebook, type RunLimits, type RunOptions, type RunOutcome } from '../../functions/run/runner.js';
import type { TestServer } from '../helpers/jupyter.js';
import { formatTable, TABLE_ENV, type FaultRow } from './table.js';

const rows: FaultRow[] = [];
// Under plain `npm test` (no shared row file) each file prints its own rows at its end.
// Registered at import, so it is a file-level hook, not one of the test that records a row.
after(() => {
  if (rows.length > 0) process.stdout.write(`${formatTable(rows)}\n`);
});

/** Records a row of the final table (call it after the assertions the row summarizes). */
export function recordRow(row: FaultRow): void {
  const file = process.env[TABLE_ENV];
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
  else rows.push(row);
}

/**
 * A hang bound, not a speed one: the suite must pass on a loaded 2-core machine, where a kernel
 * start waits its turn behind twenty data-science kernels (concurrent.test.ts in the heavy leg).
 */
export const T = { timeout: 240_000 };
export const LIMITS: Partial<RunLimits> = { startTimeoutMs: 60_000, cleanupTimeoutMs: 10_000 };

export function requestFor(hostPort: string, path: string, extra: Partial<RunRequest> = {}): RunRequest {
  return { ...parseMessage(`${hostPort} /${path}`), ...extra };
}

/** Runs the runner and measures it. */
export async function timedRun(opts: RunOptions): Promise<RunOutcome & { seconds: number }> {
  const t0 = Date.now();
  const out = await runNotebook({ ...opts, limits: { ...LIMITS, ...opts.limits } });
  return { ...out, seconds: (Date.now() - t0) / 1000 };
}

/** The text of a cell's stream outputs named `name`. */
export function streamText(out: RunOutcome, cell: number, name = 'stdout'): string {
  return out
    .exec!.outputs.outputs(cell)
    .filter((o): o is IStream => o.output_type === 'stream' && o.name === name)
    .map((o) => (Array.isArray(o.text) ? o.text.join('') : o.text))
    .join('');
}

/** Kernels the server still lists (bounded wait: a DELETE in flight may still be landing). */
export async function kernelsLeft(server: TestServer): Promise<number> {
  return (await server.kernels()).length;
}

/** `code (retry)` / `code (ack)` for a record error, `succeeded` otherwise. */
export function observed(out: RunOutcome): string {
  if (!out.record.error) return out.record.status;
  return `${out.record.error.code} ${out.record.error.retryable ? '(retry)' : '(ack)'}`;
}
