/**
 * The Cloud Run launcher: RunJob through @google-cloud/run's v2 JobsClient (loaded on first use).
 * RunJob answers a long-running Operation whose metadata is the new Execution
 * (google.cloud.run.v2.Jobs.RunJob in run/v2/job.proto: `metadata_type: "Execution"`); its name
 * is recorded and the operation is never awaited: the execution runs for hours.
 * `NBTRIGGER_RUN_ENDPOINT` (HOST:PORT, plaintext) points the client at a local server in tests.
 * @module
 */
import { isNbtError, NbtError } from '../errors.js';
import type { JobLauncher } from './job-launcher.js';
import { launchError, type RunJobCall } from './job-message.js';

/** How long RunJob may take to answer its operation (not the execution): bounded like every call. */
const RUN_JOB_TIMEOUT_MS = 30_000;

export function cloudRunLauncher(env: { [key: string]: string | undefined }): JobLauncher {
  let client: Promise<import('@google-cloud/run').v2.JobsClient> | undefined;
  const open = async (): Promise<import('@google-cloud/run').v2.JobsClient> => {
    const { v2 } = await import('@google-cloud/run');
    const endpoint = env.NBTRIGGER_RUN_ENDPOINT;
    if (!endpoint) return new v2.JobsClient();
    const m = /^(.+):(\d+)$/.exec(endpoint);
    if (!m)
      throw new NbtError('CONFIG', `NBTRIGGER_RUN_ENDPOINT must be HOST:PORT, got "${endpoint.slice(0, 80)}"`, {
        details: { field: 'NBTRIGGER_RUN_ENDPOINT' },
      });
    const { credentials } = await import('@grpc/grpc-js');
    return new v2.JobsClient({
      apiEndpoint: m[1]!,
      port: Number(m[2]),
      sslCreds: credentials.createInsecure(),
      clientOptions: { universeDomain: 'googleapis.com' },
    } as never);
  };
  return {
    async start(call: RunJobCall) {
      client ??= open();
      let operation: { name?: string | null; metadata?: { name?: string | null } | null };
      try {
        const c = await client;
        [operation] = (await c.runJob(
          call as never,
          { timeout: RUN_JOB_TIMEOUT_MS, retry: null } as never,
        )) as unknown as [typeof operation];
      } catch (e) {
        if (isNbtError(e)) throw e;
        const err = e as { code?: number; details?: string; message?: string };
        throw launchError(call.name, err.code, err.details || err.message || String(e));
      }
      const execution = operation.metadata?.name;
      if (!execution) {
        throw new NbtError(
          'JOB_UNAVAILABLE',
          `job ${call.name}: RunJob answered operation ${operation.name ?? '?'} without an execution in its metadata`,
          { details: { job: call.name } },
        );
      }
      return { execution };
    },
  };
}
