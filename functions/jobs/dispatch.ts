/**
 * Job mode, the function's side: a message naming `job` is not run here (an event-driven function
 * lives at most 540 s, https://cloud.google.com/functions/docs/configuring/timeout) but handed to
 * a Cloud Run Job execution, top to bottom: validate the message and the job (ALLOWED_JOBS, the
 * server guard when it names one) → claim `dispatch:<key>` (a done claim: a duplicate, acked) →
 * RunJob with the request in NBTRIGGER_REQUEST (never waiting for the execution) → a `dispatched`
 * record holding the execution → complete the claim → ack. The job (`nbtrigger job`) then runs the
 * notebook through processMessage and writes its own record with the same execution.
 *
 * Spec: docs/function.md#job-mode.
 * @module
 */
import type { FunctionConfig, HandlerEnv } from '../config.js';
import { NbtError } from '../errors.js';
import type { PubsubMessage } from '../event.js';
import type { Logger } from '../log.js';
import { httpBase } from '../request/address.js';
import { finishRun } from '../run/finish.js';
import { newRunId, skippedRecord, type RunRecord } from '../run/record.js';
import type { Resolver } from '../security/connector.js';
import { guardFromEnv } from '../security/guard.js';
import { storesFor } from '../store/open-stores.js';
import { dedupeKey } from '../store/leases-store.js';
import type { JobLauncher } from './job-launcher.js';
import { allowedJobs, buildRunJob, checkJobAllowed, parseJobMessage } from './job-message.js';

export interface DispatchDeps {
  launcher: JobLauncher;
  log: Logger;
  now: () => number;
  resolve?: Resolver;
}

/** The key the dispatch claims: a namespace apart from the run's own (`run:<key>`, claimed by the job). */
export function dispatchKey(key: string): string {
  return `dispatch:${key}`;
}

/** Dispatches one job-mode message: the `dispatched` (or duplicate) record; throws what decides ack or retry. */
export async function dispatchJob(
  text: string,
  message: PubsubMessage,
  env: HandlerEnv,
  cfg: FunctionConfig,
  deps: DispatchDeps,
  overlap?: { schedule: string; concurrency: string },
): Promise<{ record: RunRecord }> {
  const started = deps.now();
  const m = parseJobMessage(text, env);
  checkJobAllowed(m.job, allowedJobs(env.ALLOWED_JOBS));
  // A job that runs on a named server reaches it with the function's token: the same allowlist applies.
  if (!m.localServer) guardFromEnv(env, { resolve: deps.resolve }).check(m.request.server);
  const base = { notebook: m.request.notebook, server: m.localServer ? null : httpBase(m.request.server) };
  const key = dedupeKey({ runKey: m.request.runKey, messageId: message.messageId })!;
  const dkey = dispatchKey(key);
  const stores = await storesFor(cfg.state);
  const claim = stores ? await stores.leases.claim(dkey, cfg.leaseTtlMs).catch(storeError) : undefined;
  if (claim?.state === 'done') {
    const rec = skippedRecord(
      'duplicate',
      `${dkey} already dispatched${claim.recordRef ? ` (record ${claim.recordRef})` : ''}`,
      { notebook: base.notebook, server: base.server ?? '' },
      started,
      deps.now(),
    );
    return { record: { ...rec, server: base.server, job: m.job } };
  }
  if (claim?.state === 'running') {
    throw new NbtError(
      'IN_PROGRESS',
      `${dkey} is being dispatched by ${claim.holder} until ${claim.expiresAt}: will retry, not start twice`,
    );
  }
  let completed = false;
  try {
    const { execution } = await deps.launcher.start(buildRunJob(m, key, overlap, env));
    deps.log.log('INFO', `job ${m.job}: execution ${execution} started`, { job: m.job, execution, key });
    const record: RunRecord = {
      status: 'dispatched',
      ...base,
      kernelName: m.request.kernelName ?? null,
      startedAt: new Date(started).toISOString(),
      durationMs: deps.now() - started,
      cells: { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 },
      warnings: [],
      job: m.job,
      execution,
      runKey: dedupeKey({ runKey: key })!,
    };
    // The execution started: whatever follows, a redelivery must not start another one.
    const runId = newRunId();
    const stored = await finishRun({
      outcome: { record },
      request: m.request,
      runId,
      token: cfg.token ?? '',
      messageId: message.messageId,
      store: stores?.runs,
      ...(overlap ? { schedule: overlap.schedule } : {}),
    }).catch((e: unknown) => {
      deps.log.log('WARNING', 'dispatched record not stored', { execution, error: String(e) });
      return { ...record, runId };
    });
    if (stores) {
      await stores.leases
        .complete(dkey, stored.runId)
        .catch((e: unknown) =>
          deps.log.log('WARNING', 'dispatch lease not completed', { key: dkey, error: String(e) }),
        );
      completed = true;
    }
    return { record: stored };
  } finally {
    if (stores && !completed) await stores.leases.release(dkey).catch(() => false);
  }
}

function storeError(e: unknown): never {
  throw new NbtError('STORE_UNAVAILABLE', `state store failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}
