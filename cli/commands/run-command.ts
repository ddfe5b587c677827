/**
 * `nbtrigger run`: run one notebook, either on a private local Jupyter server started for the
 * run (no `--server`) or on a running server. Prints a progress bar and the last result, or
 * with `--json` exactly one run record. Exit codes: 0 succeeded, 1 failed or timed out,
 * 2 bad input, 3 infrastructure; 130 after Ctrl-C.
 *
 * Spec: docs/running.md (options, exit codes, the run record).
 * @module
 */
import { basename, dirname, join, resolve } from 'node:path';
import { readBounds } from '../../functions/config.js';
import { ErrorCodes, exitCodeFor, NbtError, toNbtError, type ErrorCode } from '../../functions/errors.js';
import { createLogger, redactJson } from '../../functions/log.js';
import { parseServer } from '../../functions/request/address.js';
import { mergeParameters, parseCliParameters } from '../../functions/notebook/parameters.js';
import { normalizeNotebookPath, type RunRequest } from '../../functions/request/grammar.js';
import { DEFAULT_OUTPUT_SUFFIX } from '../../functions/sinks/location.js';
import { describeResult, newRunId, rejectedRecord, type RunRecord } from '../../functions/run/record.js';
import type { PreStartedKernel } from '../../functions/run/early-kernel.js';
import { finishRun } from '../../functions/run/finish.js';
import { DEFAULT_LIMITS, runNotebook, type RunLimits } from '../../functions/run/runner.js';
import { openRunStore } from '../../functions/store/open-stores.js';
import type { LocalJupyter } from '../local/jupyter-server.js';
import type { NotebookSource } from '../../functions/sources/reader.js';
import { isExternalRef } from '../../functions/sources/source-ref.js';
import { Progress, summary } from './progress.js';
import { cliOutput, cliSource } from './run-source.js';
import { parseCommandArgs, processIo, type CommandIo } from './command-args.js';
import { count, seconds, takeParameterPairs } from './run-args.js';
import { checkLocalNotebook, readLocalNotebook } from './run-local-notebook.js';

const RUN_USAGE = `usage: nbtrigger run [options] NOTEBOOK

Runs every code cell of NOTEBOOK and prints the last result.
Without --server, NOTEBOOK is a local file run on a private Jupyter server started for the run.
With --server, NOTEBOOK is the notebook's path on that server (/path/nb.ipynb), or a notebook read
here and run on the server's kernels only: ./nb.ipynb, ~/nb.ipynb, file:///abs/nb.ipynb,
gs://bucket/nb.ipynb or https://host/nb.ipynb.

options:
  --server HOST:PORT     a running Jupyter server (JUPYTER_TOKEN or --token authenticates)
  --use-https            https/wss to the server
  --token TOKEN          Jupyter token (default: $JUPYTER_TOKEN)
  --kernel NAME          kernelspec to use (default: the notebook's)
  --sequential           send cells one at a time instead of pipelined
  --timeout SEC          limit for the whole run
  --cell-timeout SEC     limit for each cell
  --start-timeout SEC    how long to wait for the server to answer (default 120)
  --max-output CHARS     per-cell output cap (default 16777216)
  -p, --parameter NAME VALUE
                         a notebook parameter (repeatable; VALUE is JSON when it parses, else a string),
                         injected after the cell tagged "parameters", as papermill does
  --parameters-file F    parameters from a YAML or JSON file (-p wins)
  --output LOCATION      where the executed notebook goes: a path, gs://bucket/prefix/..., or server:/path.ipynb;
                         placeholders {notebook} {runId} {date} {status}; {sourceDir}/… next to the source
                         (default: OUTPUT_ROOT/{notebook}/{date}-{runId}.ipynb, beside the run record)
  --output-root DIR      where run records go (default ./runs; see 'nbtrigger runs')
  --html                 also write an HTML rendering next to the executed notebook
  --no-record            write nothing: no executed notebook, no run record
  --json                 print exactly one JSON run record on stdout
  --verbose              log every kernel message (JSON lines on stderr)
`;

/**
 * Runs the command; resolves to the exit code. `preStarted`: a kernel `bin/early-kernel.js` asked
 * for before the CLI loaded; the run takes it or has it deleted (the bin deletes it otherwise).
 */
export async function runCommand(
  argv: string[],
  io: CommandIo = processIo(),
  preStarted?: PreStartedKernel,
): Promise<number> {
  let pairs: Array<[string, string]>;
  try {
    ({ rest: argv, pairs } = takeParameterPairs(argv));
  } catch (e) {
    io.stderr.write(`nbtrigger run: ${(e as Error).message}\n\n${RUN_USAGE}`);
    return 2;
  }
  const parsed = parseCommandArgs(
    'run',
    RUN_USAGE,
    {
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: 'string' },
        'use-https': { type: 'boolean' },
        token: { type: 'string' },
        kernel: { type: 'string' },
        sequential: { type: 'boolean' },
        timeout: { type: 'string' },
        'cell-timeout': { type: 'string' },
        'start-timeout': { type: 'string' },
        'max-output': { type: 'string' },
        'parameters-file': { type: 'string' },
        output: { type: 'string' },
        'output-root': { type: 'string' },
        html: { type: 'boolean' },
        'no-record': { type: 'boolean' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values: v, positionals } = parsed;
  const json = v.json === true;
  const started = Date.now();
  const controller = new AbortController();
  let interrupts = 0;
  let local: LocalJupyter | undefined;
  const onSignal = (): void => {
    interrupts++;
    controller.abort();
    if (interrupts > 1) void local?.stop().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let record: RunRecord;
  let recordPath: string | undefined;
  const secrets: string[] = [];
  try {
    if (v['no-record'] && (v.output || v.html))
      throw new NbtError('USAGE', '--no-record writes nothing: it excludes --output and --html');
    if (positionals.length !== 1) throw new NbtError('USAGE', `expected one NOTEBOOK, got ${positionals.length}`);
    // Bounds on the notebook read come from the same variables as the function's (NBTRIGGER_MAX_…).
    const bounds = readBounds(io.env);
    const limits = {
      ...bounds,
      runTimeoutMs: seconds(v.timeout, '--timeout'),
      cellTimeoutMs: seconds(v['cell-timeout'], '--cell-timeout'),
      startTimeoutMs: seconds(v['start-timeout'], '--start-timeout'),
      maxOutputChars: count(v['max-output'], '--max-output'),
    } satisfies Partial<RunLimits>;
    const parameters = mergeParameters(
      v['parameters-file'] === undefined
        ? undefined
        : await (await import('../../functions/notebook/parameters-file.js')).readParametersFile(v['parameters-file']),
      parseCliParameters(pairs),
    );
    const base = {
      verbose: v.verbose === true,
      timeouts: {},
      ...(v.kernel ? { kernelName: v.kernel } : {}),
      ...(v.sequential ? { sequential: true } : {}),
      ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
    };
    let request: RunRequest;
    let token: string;
    let notebookText: Promise<string> | undefined;
    let notebookSource: NotebookSource | undefined;
    if (v.server !== undefined) {
      token = v.token ?? io.env.JUPYTER_TOKEN ?? '';
      secrets.push(token);
      if (v.token === undefined && io.env.JUPYTER_TOKEN === undefined) {
        io.stderr.write('nbtrigger run: no --token and JUPYTER_TOKEN is not set: trying without a token\n');
      }
      const server = parseServer(v.server, v['use-https'] === true, '--server');
      const external = await cliSource(positionals[0]!, process.cwd());
      if (external) {
        notebookSource = external.source;
        request = { ...base, server, notebook: external.notebook, source: external.ref };
      } else request = { ...base, server, notebook: normalizeNotebookPath(positionals[0]!, 'NOTEBOOK') };
    } else if (isExternalRef(positionals[0]!) && !/^(\.\.?|~)\//.test(positionals[0]!)) {
      // A URL without --server: read by the command, run on a private server rooted here.
      if (v['use-https'] || v.token) throw new NbtError('USAGE', '--use-https and --token need --server');
      const external = (await cliSource(positionals[0]!, process.cwd()))!;
      notebookSource = external.source;
      local = await (await import('../local/jupyter-server.js')).startLocalJupyter({ rootDir: process.cwd() });
      token = local.token;
      secrets.push(token);
      request = { ...base, server: local.address, notebook: external.notebook, source: external.ref };
    } else {
      if (v['use-https'] || v.token) throw new NbtError('USAGE', '--use-https and --token need --server');
      const file = resolve(positionals[0]!.replace(/^file:\/\//i, ''));
      const maxBytes = bounds.maxNotebookBytes ?? DEFAULT_LIMITS.maxNotebookBytes;
      await checkLocalNotebook(file, maxBytes);
      notebookText = readLocalNotebook(file, maxBytes);
      notebookText.catch(() => undefined);
      // Loaded only without --server (as yaml for --parameters-file): a lean start for the common case.
      local = await (await import('../local/jupyter-server.js')).startLocalJupyter({ rootDir: dirname(file) });
      token = local.token;
      secrets.push(token);
      request = { ...base, server: local.address, notebook: basename(file) };
    }
    if (controller.signal.aborted) throw new NbtError('CANCELLED', 'run cancelled');
    const log = createLogger({
      write: (l) => io.stderr.write(l),
      secrets: [token],
      minSeverity: v.verbose ? 'DEBUG' : 'WARNING',
    });
    const progress = json ? undefined : new Progress({ out: io.stderr });
    try {
      // The executed notebook and the record are written while the kernel is deleted (deferCleanup).
      const outcome = await runNotebook({
        request,
        token,
        limits,
        notebookText,
        notebookSource,
        signal: controller.signal,
        log,
        deferCleanup: true,
        ...(preStarted ? { preStarted } : {}),
        onPlan: (_nb, cells) => progress?.plan(cells.filter((c) => !c.skip).length),
        onProgress: (e) => progress?.update(e),
      });
      try {
        record = outcome.record;
        if (!v['no-record']) {
          const root = resolve(v['output-root'] ?? 'runs');
          const store = await openRunStore({ kind: 'local', root });
          record = await finishRun({
            outcome,
            request,
            runId: newRunId(),
            token,
            html: v.html === true,
            output: cliOutput(v.output, request.source, request.notebook) ?? join(root, DEFAULT_OUTPUT_SUFFIX),
            store,
            onStored: (where) => {
              recordPath = where;
            },
          });
          await store.close();
        }
      } finally {
        await outcome.cleanup;
      }
    } finally {
      progress?.end();
    }
  } catch (e) {
    record = rejectedRecord(toNbtError(e), started, Date.now());
  } finally {
    await local?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  record = redactJson(record, secrets);
  if (json) io.stdout.write(`${JSON.stringify(record)}\n`);
  else {
    io.stderr.write(summary(record, io.stderr.isTTY === true));
    if (recordPath) io.stderr.write(`run record: ${recordPath}\n`);
    const result = describeResult(record.lastResult);
    if (result !== undefined) io.stdout.write(`${result}\n`);
    if (record.error?.code === 'USAGE') io.stderr.write(`\n${RUN_USAGE}`);
  }
  if (interrupts > 0) return 130;
  return exitCode(record);
}

/** The exit code for a record. */
export function exitCode(record: RunRecord): number {
  if (record.status === 'succeeded') return 0;
  if (record.status === 'failed' || record.status === 'timed_out') return 1;
  const code = record.error?.code;
  return code !== undefined && code in ErrorCodes ? exitCodeFor(ErrorCodes[code as ErrorCode].kind) : 3;
}
