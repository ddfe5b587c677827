/**
 * The launcher of job executions: the small adapter interface job dispatch calls, so the dispatch
 * logic imports no client. `cloudRunLauncher` (functions/jobs/cloud-run-launcher.ts) calls Cloud
 * Run Admin v2 RunJob; the local stack starts `nbtrigger job` as a child process instead.
 * @module
 */
import type { RunJobCall } from './job-message.js';

export interface JobLauncher {
  /**
   * Starts one execution of `call.name` with `call.overrides` and answers its full name as soon as
   * it is known, without waiting for the execution to finish. Throws an NbtError (JOB_UNAVAILABLE:
   * retry; JOB_REFUSED: final) naming the job.
   */
  start(call: RunJobCall): Promise<{ execution: string }>;
}
