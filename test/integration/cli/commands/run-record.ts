/**
 * The one JSON record `nbtrigger run --json` prints, read from stdout, shared by the run-command
 * tests (run-command.test.ts, run-command-server.test.ts).
 * @module
 */
import assert from 'node:assert/strict';
import type { RunRecord } from '../../../../functions/run/record.js';

/** The record on stdout; fails unless --json printed exactly one line. */
export function record(stdout: string): RunRecord {
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `--json prints exactly one line, got: ${stdout}`);
  return JSON.parse(lines[0]!) as RunRecord;
}
