/**
 * `npm run test:faults`: runs every fault test file (dist/test/faults/*.test.js) under node's
 * test runner with a shared row file, then prints the one table and exits with the runner's code.
 * Extra arguments are passed to `node --test` (e.g. `--test-name-pattern=…`).
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable, readRows, TABLE_ENV } from './table.js';

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => join(here, f));
const dir = mkdtempSync(join(tmpdir(), 'nbtrigger-faults-'));
const table = join(dir, 'rows.jsonl');
// The failed tests, repeated after the table so the tail of a long log names them.
const failures = join(dir, 'failures.txt');
const reporter = join(here, '..', '..', '..', 'scripts', 'test-failures.mjs');
const started = Date.now();
const res = spawnSync(
  process.execPath,
  [
    '--test',
    `--test-concurrency=${process.env.NBTRIGGER_TEST_CONCURRENCY ?? '3'}`,
    '--test-timeout=900000',
    '--test-reporter=tap',
    '--test-reporter-destination=stdout',
    `--test-reporter=${reporter}`,
    `--test-reporter-destination=${failures}`,
    ...process.argv.slice(2),
    ...files,
  ],
  {
    stdio: 'inherit',
    env: { ...process.env, [TABLE_ENV]: table },
  },
);
const rows = readRows(table);
const failed = existsSync(failures) ? readFileSync(failures, 'utf8') : '';
rmSync(dir, { recursive: true, force: true });
const seconds = ((Date.now() - started) / 1000).toFixed(1);
process.stdout.write(`\nnbtrigger fault suite: ${rows.length} faults in ${seconds} s\n${formatTable(rows)}\n`);
if (failed) process.stderr.write(failed);
process.exit(res.status ?? 1);
