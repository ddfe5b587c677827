/**
 * `nbtrigger job`: the entry point of a Cloud Run Job task that runs one notebook (job mode,
 * docs/function.md#job-mode). It reads the request from NBTRIGGER_REQUEST (the message grammar's
 * JSON form), the execution and attempt from CLOUD_RUN_EXECUTION / CLOUD_RUN_TASK_INDEX /
 * CLOUD_RUN_TASK_ATTEMPT (https://cloud.google.com/run/docs/container-contract#jobs-env-vars), and
 * runs the notebook through the function's own pipeline (functions/process.ts: dedupe claim by
 * runKey, overlap lock, run, sinks, record, complete) with no FUNCTION_TIMEOUT_SEC cap, on the
 * request's server or on a private Jupyter server started in the container.
 *
 * Signals: SIGTERM (task timeout, cancelled execution) interrupts the running cell, records the
 * run with its partial notebook, deletes the kernel and exits 143. SIGTSTP and SIGCONT (Cloud Run
 * moving the task, https://cloud.google.com/run/docs/configuring/task-timeout) are logged, never
 * fatal. Exit codes otherwise as `nbtrigger run`: 0 succeeded (or already done), 1 failed or timed
 * out, 2 bad input, 3 infrastructure.
 *
 * Spec: docs/running.md#nbtrigger-job.
 * @module
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { jobConfig, type HandlerEnv } from '../../functions/config.js';
import { NbtError, toNbtError } from '../../functions/errors.js';
import { CONCURRENCY_ENV, REQUEST_ENV, SCHEDULE_ENV } from '../../functions/jobs/job-message.js';
import { createLogger, redactJson } from '../../functions/log.js';
import { processMessage } from '../../functions/process.js';
import {
  JsonNumber,
  parseExactJson,
  stringifyExactJson,
  type ParamValue,
} from '../../functions/notebook/translators/values.js';
import { parseMessage } from '../../functions/request/grammar.js';
import { rejectedRecord, type RunRecord } from '../../functions/run/record.js';
import { runNotebook } from '../../functions/run/runner.js';
import type { LocalJupyter } from '../local/jupyter-server.js';
import { parseCommandArgs, processIo, type CommandIo } from './command-args.js';
import { exitCode } from './run-command.js';

const JOB_USAGE = `usage: nbtrigger job

Runs the notebook of one Cloud Run Job task. Reads its environment:
  NBTRIGGER_REQUEST        the request: a JSON run message (as the function takes it, without "job")
  CLOUD_RUN_EXECUTION      the execution's name (recorded)
  CLOUD_RUN_TASK_INDEX     the task's index (0 for nbtrigger's one-task jobs)
  CLOUD_RUN_TASK_ATTEMPT   the attempt (0 first; a retry of a run already done does not run again)
Without "server", "notebook" runs on a private Jupyter server: a gs:// or https:// notebook is read
from there (ALLOWED_SOURCES); a path is a local file below NBTRIGGER_NOTEBOOK_ROOT, else below
NBTRIGGER_ROOT_DIR (the image's notebook folder), else absolute or relative to the working directory.
Records go to the function's store (NBTRIGGER_STORE, NBTRIGGER_RUNS_DIR).
Exit codes: 0 succeeded (or already done), 1 failed or timed out, 2 bad input, 3 infrastructure,
143 stopped by SIGTERM (the run is recorded).
`;

/** The exit code after SIGTERM (128 + 15): the task was stopped, the run recorded. */
export const SIGTERM_EXIT = 143;

/** Runs the command; resolves to the exit code. */
export async function jobCommand(argv: string[], io: CommandIo = processIo()): Promise<number> {
  const parsed = parseCommandArgs(
    'job',
    JOB_USAGE,
    { args: argv, allowPositionals: false, strict: true, options: { help: { type: 'boolean', short: 'h' } } },
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const started = Date.now();
  const controller = new AbortController();
  let terminated = false;
  const log = createLogger({ write: (l) => io.stderr.write(l), minSeverity: 'INFO' }, { component: 'nbtrigger-job' });
  const onTerm = (signal: string) => (): void => {
    terminated = true;
    log.log('WARNING', `${signal}: stopping the run (interrupt the cell, record, delete the kernel)`);
    controller.abort(
      new NbtError('CANCELLED', `the job task was stopped by ${signal} (task timeout or cancelled execution)`),
    );
  };
  // Cloud Run sends SIGTSTP 10 s before it moves a task and SIGCONT once moved: the run goes on.
  const onPause = (): void =>
    log.log('NOTICE', 'SIGTSTP: the task is about to be moved (maintenance); the run goes on');
  const onResume = (): void =>
    log.log('NOTICE', 'SIGCONT: the task was moved; the run goes on (the kernel channel reconnects)');
  const handlers: Array<[NodeJS.Signals, () => void]> = [
    ['SIGTERM', onTerm('SIGTERM')],
    ['SIGINT', onTerm('SIGINT')],
    ['SIGTSTP', onPause],
    ['SIGCONT', onResume],
  ];
  for (const [s, h] of handlers) process.on(s, h);
  let local: LocalJupyter | undefined;
  let emptyRoot: string | undefined;
  let record: RunRecord;
  const secrets: string[] = [];
  try {
    const task = taskEnv(io.env);
    const body = requestBody(io.env[REQUEST_ENV]);
    const env: HandlerEnv & NodeJS.ProcessEnv = { ...io.env };
    // The grammar validates the request before anything starts (a bad one: exit 2, nothing run).
    const probe = parseMessage(
      io.env[REQUEST_ENV]!,
      body.server === undefined ? { JUPYTER_SERVER: '127.0.0.1:8888' } : env,
    );
    if (body.server === undefined) {
      // No server named: the notebook runs on a private Jupyter server started here. A notebook from a
      // source (gs://, https://) is read through ALLOWED_SOURCES, as the function reads it, and the
      // server's root is an empty folder of its own. A path is a file below NBTRIGGER_NOTEBOOK_ROOT
      // (the local stack's root), else NBTRIGGER_ROOT_DIR (the image's notebook folder), else absolute
      // or relative to the working directory; the server's root is its folder.
      let rootDir: string;
      if (probe.source !== undefined) {
        rootDir = emptyRoot = await mkdtemp(resolve(tmpdir(), 'nbtrigger-job-'));
      } else {
        const root = io.env.NBTRIGGER_NOTEBOOK_ROOT ?? io.env.NBTRIGGER_ROOT_DIR;
        const file = root ? resolve(root, probe.notebook) : resolve(String(body.notebook));
        const s = await stat(file).catch(() => undefined);
        if (!s?.isFile())
          throw new NbtError('NOTEBOOK_NOT_FOUND', `notebook "${file}" does not exist`, {
            details: { field: 'notebook' },
          });
        rootDir = dirname(file);
        body.notebook = basename(file);
      }
      local = await (await import('../local/jupyter-server.js')).startLocalJupyter({ rootDir });
      const server = `${local.address.host}:${local.address.port}`;
      Object.assign(env, { JUPYTER_SERVER: server, ALLOWED_SERVERS: server, JUPYTER_TOKEN: local.token });
    }
    if (env.JUPYTER_TOKEN) secrets.push(env.JUPYTER_TOKEN);
    const attributes: Record<string, string> = {};
    if (io.env[SCHEDULE_ENV]) attributes['nbtrigger-schedule'] = io.env[SCHEDULE_ENV]!;
    if (io.env[CONCURRENCY_ENV]) attributes['nbtrigger-concurrency'] = io.env[CONCURRENCY_ENV]!;
    // The execution name stands in for a Pub/Sub messageId: a request without runKey dedupes per execution.
    const message = {
      data: Buffer.from(stringifyExactJson(body)).toString('base64'),
      messageId: task.execution,
      attributes,
      publishTime: new Date(started).toISOString(),
    };
    const cfg = jobConfig(env, probe.timeouts.runSeconds);
    const result = await processMessage(message, env, cfg, {
      run: runNotebook,
      log: createLogger({ write: (l) => io.stderr.write(l), secrets, minSeverity: 'INFO' }),
      now: Date.now,
      job: { execution: task.execution, attempt: task.attempt },
      signal: controller.signal,
    });
    record = result.record;
  } catch (e) {
    record = rejectedRecord(toNbtError(e), started, Date.now());
  } finally {
    await local?.stop();
    if (emptyRoot) await rm(emptyRoot, { recursive: true, force: true });
    for (const [s, h] of handlers) process.off(s, h);
  }
  record = redactJson(record, secrets);
  io.stdout.write(`${JSON.stringify(record)}\n`);
  if (terminated) return SIGTERM_EXIT;
  return record.status === 'skipped' ? 0 : exitCode(record);
}

/** CLOUD_RUN_EXECUTION (required), CLOUD_RUN_TASK_INDEX and CLOUD_RUN_TASK_ATTEMPT (whole numbers, default 0). */
export function taskEnv(env: NodeJS.ProcessEnv): { execution: string; index: number; attempt: number } {
  const execution = env.CLOUD_RUN_EXECUTION?.trim();
  if (!execution)
    throw new NbtError('USAGE', 'CLOUD_RUN_EXECUTION is not set: nbtrigger job runs as a Cloud Run Job task', {
      details: { field: 'CLOUD_RUN_EXECUTION' },
    });
  if (execution.length > 200 || !/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(execution)) {
    throw new NbtError('USAGE', `CLOUD_RUN_EXECUTION is not an execution name: "${execution.slice(0, 80)}"`, {
      details: { field: 'CLOUD_RUN_EXECUTION' },
    });
  }
  const whole = (name: string): number => {
    const v = env[name];
    if (v === undefined || v === '') return 0;
    if (!/^\d{1,6}$/.test(v))
      throw new NbtError('USAGE', `${name} must be a whole number, got "${v.slice(0, 40)}"`, {
        details: { field: name },
      });
    return Number(v);
  };
  const index = whole('CLOUD_RUN_TASK_INDEX');
  if (index !== 0)
    throw new NbtError('USAGE', `CLOUD_RUN_TASK_INDEX is ${index}: a notebook job has one task`, {
      details: { field: 'CLOUD_RUN_TASK_INDEX' },
    });
  return { execution, index, attempt: whole('CLOUD_RUN_TASK_ATTEMPT') };
}

/** NBTRIGGER_REQUEST as a JSON object (the grammar checks its fields). */
export function requestBody(text: string | undefined): Record<string, ParamValue> {
  if (text === undefined || text.trim() === '')
    throw new NbtError('USAGE', `${REQUEST_ENV} is not set: it holds the run request`, {
      details: { field: REQUEST_ENV },
    });
  // Read with exact numbers (`1.0` stays a float), as the grammar reads parameters.
  let o: ParamValue;
  try {
    o = parseExactJson(text);
  } catch (e) {
    throw new NbtError('BAD_MESSAGE', `${REQUEST_ENV} is not valid JSON: ${(e as Error).message}`, {
      details: { field: REQUEST_ENV },
    });
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o) || o instanceof JsonNumber)
    throw new NbtError('BAD_MESSAGE', `${REQUEST_ENV} must be a JSON object`, { details: { field: REQUEST_ENV } });
  return o;
}
