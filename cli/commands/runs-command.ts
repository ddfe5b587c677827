/**
 * `nbtrigger runs`: lists past runs newest first (when, notebook, status, duration, failing cell,
 * output) from a local output root or Firestore, as a table or `--json`, and with `--html FILE`
 * writes one self-contained page (summary, a chart of durations and outcomes per notebook, the table).
 * Exit codes: 0 listed (whatever the runs' outcomes), 2 bad input, 3 the history could not be read.
 *
 * Spec: docs/function.md.
 * @module
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { RunStatus } from '../../functions/run/record.js';
import { renderHistoryHtml } from '../../functions/report/history-html.js';
import {
  formatRunsTable,
  historyRunProblem,
  printable,
  RUN_STATUSES,
  toRow,
  type HistoryQuery,
  type HistoryRun,
  type RunLister,
} from '../../functions/report/history.js';
import { jobRunState, jobRunsView, pendingDispatches, type JobRunState } from '../../functions/report/job-runs.js';
import { parseCommandArgs, processIo, type CommandIo } from './command-args.js';

const RUNS_USAGE = `usage: nbtrigger runs [options]

Lists runs newest first: when, notebook, status, duration, failing cell, output.

options:
  --output-root DIR   the runs folder of 'nbtrigger run' / the local stack (default: $NBTRIGGER_RUNS_DIR, else ./runs)
  --firestore         read the run history from Firestore instead (FIRESTORE_EMULATOR_HOST honoured)
  --notebook NAME     only this notebook (a file name, or a path when it has a /)
  --status STATUS     only runs that ended so: succeeded, failed, timed_out, error
A job-mode run shows its execution; one whose job has not recorded it yet is running, lost
(its lease expired: the task died unrecorded) or dispatched (not started yet).
  --limit N           at most N runs (default 50; with --html 1000)
  --json              print the run records as one JSON array
  --html FILE         also write a self-contained HTML page of the runs to FILE
`;

/** Where the history comes from. */
export type HistorySource = { kind: 'local'; root: string } | { kind: 'firestore' };

/**
 * The state of each job run whose job has written no record yet, from its lease in the same store
 * (`running`, `lost`, `dispatched`). A lease store that cannot be read leaves them `dispatched`.
 */
async function jobStates(
  source: HistorySource,
  runs: HistoryRun[],
  stderr: NodeJS.WritableStream,
): Promise<Map<HistoryRun, JobRunState | undefined>> {
  const states = new Map<HistoryRun, JobRunState | undefined>();
  const pending = pendingDispatches(runs).filter((r) => typeof r.runKey === 'string');
  if (pending.length === 0) return states;
  const { openLeaseStore } = await import('../../functions/store/open-stores.js');
  const { join } = await import('node:path');
  try {
    const leases = await openLeaseStore(
      source.kind === 'local' ? { kind: 'local', root: join(source.root, '.leases') } : { kind: 'firestore' },
    );
    try {
      for (const r of pending) states.set(r, jobRunState(await leases.peek(r.runKey!)));
    } finally {
      await leases.close();
    }
  } catch (e) {
    stderr.write(`nbtrigger runs: warning: job runs' leases not read: ${(e as Error).message}\n`);
  }
  return states;
}

/** Opens a history source: the run store the runs were written to (local folder or Firestore). */
async function openHistory(source: HistorySource): Promise<RunLister> {
  const { openRunStore } = await import('../../functions/store/open-stores.js');
  return openRunStore(source.kind === 'local' ? { kind: 'local', root: source.root } : { kind: 'firestore' });
}

class UsageError extends Error {}

function parseLimit(v: string | undefined, html: boolean): number {
  if (v === undefined) return html ? 1000 : 50;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1000)
    throw new UsageError(`--limit must be an integer from 1 to 1000, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * The runs that are valid records; each other one is skipped with a warning on stderr. Whoever can
 * write to the store can write anything there, and nothing from it is rendered unchecked.
 */
function validRuns(runs: unknown[], stderr: NodeJS.WritableStream): HistoryRun[] {
  const out: HistoryRun[] = [];
  runs.forEach((r, i) => {
    const problem = historyRunProblem(r);
    if (problem === undefined) out.push(r as HistoryRun);
    else {
      const runId = (r as { runId?: unknown } | null)?.runId;
      const id = typeof runId === 'string' ? `run ${printable(runId, 40)}` : `entry ${i + 1}`;
      stderr.write(`nbtrigger runs: warning: skipped ${id}: not a valid run record (${problem})\n`);
    }
  });
  return out;
}

/** Runs the command; resolves to the exit code. `open` is injectable for tests. */
export async function runsCommand(
  argv: string[],
  io: CommandIo = processIo(),
  open: (s: HistorySource) => Promise<RunLister> = openHistory,
): Promise<number> {
  let query: HistoryQuery;
  let source: HistorySource;
  const parsed = parseCommandArgs(
    'runs',
    RUNS_USAGE,
    {
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        'output-root': { type: 'string' },
        firestore: { type: 'boolean' },
        notebook: { type: 'string' },
        status: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        html: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values;
  try {
    if (v.firestore && v['output-root'] !== undefined)
      throw new UsageError('--firestore and --output-root exclude each other');
    if (v.status !== undefined && !(RUN_STATUSES as readonly string[]).includes(v.status)) {
      throw new UsageError(`--status must be one of ${RUN_STATUSES.join(', ')}, got ${JSON.stringify(v.status)}`);
    }
    if (v.html === '') throw new UsageError('--html needs a file name');
    query = { limit: parseLimit(v.limit, v.html !== undefined) };
    if (v.notebook) query.notebook = v.notebook;
    if (v.status) query.status = v.status as RunStatus;
    source = v.firestore
      ? { kind: 'firestore' }
      : { kind: 'local', root: resolve(v['output-root'] ?? io.env.NBTRIGGER_RUNS_DIR ?? 'runs') };
  } catch (e) {
    io.stderr.write(`nbtrigger runs: ${(e as Error).message}\n\n${RUNS_USAGE}`);
    return 2;
  }

  let lister: RunLister | undefined;
  let runs: HistoryRun[];
  if (
    source.kind === 'local' &&
    !(await stat(source.root).then(
      (st) => st.isDirectory(),
      () => false,
    ))
  ) {
    io.stderr.write(`nbtrigger runs: no such directory: ${source.root}\n`);
    return 2;
  }
  try {
    lister = await open(source);
    runs = validRuns(await lister.list(query), io.stderr);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (source.kind === 'local' && err.code === 'ENOENT') {
      io.stderr.write(`nbtrigger runs: no such directory: ${source.root}\n`);
      return 2;
    }
    io.stderr.write(`nbtrigger runs: cannot read the run history: ${err.message}\n`);
    return 3;
  } finally {
    await lister?.close?.().catch(() => undefined);
  }

  if (v.json) io.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
  else {
    const shown = v.html !== undefined && v.limit === undefined ? runs.slice(0, 50) : runs;
    const states = await jobStates(source, shown, io.stderr);
    io.stdout.write(formatRunsTable(jobRunsView(shown, states).map(({ run, state }) => toRow(run, state))));
    if (shown.length < runs.length)
      io.stdout.write(`(${runs.length - shown.length} older runs are in the HTML page only)\n`);
  }
  if (v.html !== undefined) {
    const file = resolve(v.html);
    const filterText = [query.notebook && `notebook=${query.notebook}`, query.status && `status=${query.status}`]
      .filter(Boolean)
      .join(', ');
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, renderHistoryHtml(runs, filterText ? { filterText } : {}));
    } catch (e) {
      io.stderr.write(`nbtrigger runs: cannot write ${file}: ${(e as Error).message}\n`);
      return 3;
    }
    io.stderr.write(`wrote ${file} (${runs.length} run${runs.length === 1 ? '' : 's'})\n`);
  }
  return 0;
}
