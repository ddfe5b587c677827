/**
 * The local launcher (the local stack, `nbtrigger local`): instead of RunJob it starts `nbtrigger
 * job` as a child process with the env a Cloud Run task gets (the RunJob overrides' env,
 * CLOUD_RUN_EXECUTION = a generated execution id, CLOUD_RUN_TASK_INDEX=0, CLOUD_RUN_TASK_ATTEMPT=0,
 * https://cloud.google.com/run/docs/container-contract#jobs-env-vars) and answers at once, as RunJob
 * does. When the child exits it logs one line holding `execution`, `jobExit` and the job's record,
 * which the local stack waits for. Chosen by NBTRIGGER_LOCAL_JOB_BIN (the path of bin/nbtrigger.js).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { JobLauncher } from './job-launcher.js';
import type { RunJobCall } from './job-message.js';

/** Job children still running; SIGTERMed when this process exits, so a stopped local stack leaves none. */
const live = new Set<ChildProcess>();
let exitHook = false;

/** Most of the child's stdout kept: its one record line. */
const MAX_STDOUT = 4 * 1024 * 1024;

export function localLauncher(bin: string, log: Logger, env: NodeJS.ProcessEnv = process.env): JobLauncher {
  return {
    async start(call: RunJobCall) {
      const jobId = call.name.slice(call.name.lastIndexOf('/') + 1);
      const id = `${jobId}-${randomBytes(3).toString('hex').slice(0, 5)}`;
      const execution = `${call.name}/executions/${id}`;
      const overrides = Object.fromEntries(
        call.overrides.containerOverrides.flatMap((c) => c.env.map((e) => [e.name, e.value])),
      );
      const child = spawn(process.execPath, [bin, 'job'], {
        env: {
          ...env,
          ...overrides,
          CLOUD_RUN_JOB: jobId,
          CLOUD_RUN_EXECUTION: id,
          CLOUD_RUN_TASK_INDEX: '0',
          CLOUD_RUN_TASK_ATTEMPT: '0',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      live.add(child);
      if (!exitHook) {
        exitHook = true;
        process.once('exit', () => {
          for (const c of live) c.kill('SIGTERM');
        });
      }
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        if (out.length < MAX_STDOUT) out += d;
      });
      child.once('error', (e) =>
        log.log('ERROR', `job execution ${id} could not start: ${e.message}`, { execution, jobExit: -1 }),
      );
      child.once('close', (code, signal) => {
        live.delete(child);
        let record: unknown;
        try {
          record = JSON.parse(out.trim().split('\n').at(-1) ?? '');
        } catch {
          record = undefined;
        }
        const exit = code ?? (signal ? 128 : -1);
        log.log(exit === 0 ? 'INFO' : 'WARNING', `job execution ${id} ended (exit ${code ?? signal})`, {
          execution,
          jobExit: exit,
          jobRecord: record,
        });
      });
      return { execution };
    },
  };
}
