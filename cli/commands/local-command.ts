/**
 * `nbtrigger local NOTEBOOK`: the whole system on one machine, no cloud account. A private
 * Jupyter server stands in for Cloud Run, the built function runs under functions-framework
 * as on Cloud Functions, and a Pub/Sub-shaped CloudEvent carrying the classic message is
 * delivered to it; the function's own run record is read back from its structured log.
 * `nbtrigger local -f MANIFEST [--fire SCHEDULE]` runs a deployment manifest the same way
 * (cli/commands/local-manifest.ts).
 *
 * Spec: docs/running.md (the local stack);
 * docs/deploy.md (The same manifest, locally).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { NbtError, toNbtError } from '../../functions/errors.js';
import { describeResult, rejectedRecord, type RunRecord } from '../../functions/run/record.js';
import { startFunctionServer, type FunctionServer } from '../local/function-server.js';
import { freePort, startLocalJupyter, type LocalJupyter } from '../local/jupyter-server.js';
import { summary } from './progress.js';
import { deliver } from '../local/publish.js';
import { exitCode } from './run-command.js';
import { parseCommandArgs, processIo } from './command-args.js';

const LOCAL_USAGE = `usage: nbtrigger local [--json] [--verbose] NOTEBOOK
       nbtrigger local -f MANIFEST [--fire SCHEDULE] [options]

Runs NOTEBOOK through the local stack: a local Jupyter server (for Cloud Run), the runNotebook
function under functions-framework (for Cloud Functions) and a published Pub/Sub message.

With -f, runs a deployment manifest on this machine: one local Jupyter server per Cloud Run
service (root: the repository, so notebook paths are those of the image), the function, a cron
firing each schedule's Cloud Scheduler message in its time zone, and a Pub/Sub endpoint for
  PUBSUB_EMULATOR_HOST=<printed address> nbtrigger publish TOPIC --project P --message "…"
Each run's record (with its messageId) is written to RUNS/<notebook>/<time>-<runId>.json, beside the
executed notebook (gs:// outputs are mapped there too).

options:
  -f, --file MANIFEST   the deployment manifest (e.g. infra/nbtrigger.yaml)
  --fire SCHEDULE       publish SCHEDULE's message now, wait for the run, exit with its code
  --root DIR            the repository root the notebook paths are relative to (default: .)
  --runs DIR            where run records go (default: ROOT/runs)
  --pubsub-port PORT    port of the Pub/Sub endpoint (default: a free one)
  --now ISO             the cron's clock reads ISO at start, then runs at real speed (testing)
  --json                JSON lines on stdout (ready, run, stopped events)
  --verbose             echo the function's log lines
`;

/** Runs the command; resolves to the exit code. */
export async function localCommand(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    'local',
    LOCAL_USAGE,
    {
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        file: { type: 'string', short: 'f' },
        fire: { type: 'string' },
        now: { type: 'string' },
        root: { type: 'string' },
        runs: { type: 'string' },
        'pubsub-port': { type: 'string' },
      },
    },
    processIo(),
  );
  if (typeof parsed === 'number') return parsed;
  const { values: v, positionals } = parsed;
  const manifestOnly = (['fire', 'now', 'root', 'runs', 'pubsub-port'] as const).filter((k) => v[k] !== undefined);
  if (v.file !== undefined || manifestOnly.length > 0) {
    if (v.file === undefined || positionals.length > 0) {
      const problem =
        v.file === undefined
          ? `--${manifestOnly[0]} needs -f MANIFEST`
          : 'give either NOTEBOOK or -f MANIFEST, not both';
      process.stderr.write(`nbtrigger local: ${problem}\n\n${LOCAL_USAGE}`);
      return 2;
    }
    const { localManifest } = await import('./local-manifest.js');
    return localManifest({
      file: v.file,
      fire: v.fire,
      now: v.now,
      root: v.root,
      runs: v.runs,
      pubsubPort: v['pubsub-port'],
      json: v.json === true,
      verbose: v.verbose === true,
    });
  }
  const say = (s: string): void => {
    if (!v.json) process.stderr.write(`local: ${s}\n`);
  };
  const started = Date.now();
  let jupyter: LocalJupyter | undefined;
  let fn: FunctionServer | undefined;
  let record: RunRecord;
  const stopAll = async (): Promise<void> => {
    await Promise.all([fn?.stop(), jupyter?.stop()]);
  };
  const onSignal = (): void => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  try {
    if (positionals.length !== 1) throw new NbtError('USAGE', `expected one NOTEBOOK, got ${positionals.length}`);
    const file = resolve(positionals[0]!);
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) throw new NbtError('NOTEBOOK_NOT_FOUND', `notebook "${file}" does not exist or is not a file`);
    // Port and token are chosen up front so the server and the function start side by side.
    const port = await freePort();
    const token = randomBytes(24).toString('hex');
    const echo = v.verbose
      ? (l: string): void => {
          process.stderr.write(`${l}\n`);
        }
      : undefined;
    const [j, f] = await Promise.allSettled([
      startLocalJupyter({ rootDir: dirname(file), port, token }),
      startFunctionServer({
        env: { ...process.env, JUPYTER_TOKEN: token, JUPYTER_SERVER: `127.0.0.1:${port}` },
        echo,
        maxLines: 1000,
      }),
    ]);
    if (j.status === 'fulfilled') jupyter = j.value;
    if (f.status === 'fulfilled') fn = f.value;
    if (j.status === 'rejected') throw j.reason;
    if (f.status === 'rejected') throw f.reason;
    say(`Jupyter server on http://127.0.0.1:${port} (root ${dirname(file)})`);
    say(`function runNotebook on ${fn!.url}/ (functions-framework, signature cloudevent)`);
    const message = `/${basename(file)}${v.verbose ? ' --verbose' : ''}`;
    const delivery = await deliver(`${fn!.url}/`, message);
    const outcome = delivery.status === 204 ? 'acked' : 'retry';
    say(`published "${message}" as message ${delivery.messageId}: HTTP ${delivery.status} (${outcome})`);
    // The function logged the record before it answered: this bounds only reading its stdout pipe (a hang bound).
    record = await fn!.waitForRecord(delivery.messageId, 60_000);
  } catch (e) {
    record = rejectedRecord(toNbtError(e), started, Date.now());
  } finally {
    process.off('SIGINT', onSignal);
    await stopAll();
  }
  if (v.json) process.stdout.write(`${JSON.stringify(record)}\n`);
  else {
    process.stderr.write(summary(record, process.stderr.isTTY === true));
    const result = describeResult(record.lastResult);
    if (result !== undefined) process.stdout.write(`${result}\n`);
  }
  return exitCode(record);
}
