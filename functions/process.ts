/**
 * The function's data path for one validated Pub/Sub message, top to bottom: parse the request →
 * SSRF guard → dedupe claim (exactly-once effect) → per-schedule overlap lock → run → outputs,
 * record, notifications → complete (or release) the claim. Returns the record and the error that
 * decides ack or retry; throws only what the handler classifies itself.
 *
 * Duplicates: a key (the message's `runKey`, else its `messageId`) already *done* is acknowledged
 * as a duplicate; one still *running* elsewhere answers IN_PROGRESS (retryable), so Pub/Sub brings
 * it back later: acknowledging it instead would lose the run if the first delivery's instance
 * crashed (its lease expires, and only a redelivery can then claim it).
 *
 * Spec: docs/function.md (exactly-once effect, no overlap, SSRF, deadline), docs/function.md (outputs, records).
 * @module
 */
import { createIdTokenProvider, type IdTokenProvider } from './auth/id-token.js';
import type { FunctionConfig, HandlerEnv } from './config.js';
import type { PubsubMessage } from './event.js';
import { isNbtError, NbtError } from './errors.js';
import type { JobLauncher } from './jobs/job-launcher.js';
import { jobField } from './jobs/job-message.js';
import type { Logger } from './log.js';
import { httpBase } from './request/address.js';
import { messageOutputs } from './message-output.js';
import { decodeData, parseMessage } from './request/grammar.js';
import { finishRun } from './run/finish.js';
import { newRunId, skippedRecord, type RunRecord } from './run/record.js';
import type { RunOptions, RunOutcome } from './run/runner.js';
import type { Resolver } from './security/connector.js';
import type { StoredRun } from './store/runs-store.js';
import { guardFromEnv } from './security/guard.js';
import { sourceAllowlist } from './security/sources.js';
import { messageSource } from './sources/open-source.js';
import { storesFor } from './store/open-stores.js';
import { dedupeKey, type Concurrency, type LockResult } from './store/leases-store.js';

export interface ProcessDeps {
  run: (opts: RunOptions) => Promise<RunOutcome>;
  log: Logger;
  now: () => number;
  /** DNS resolver behind every connection's guard (default: the system's; tests inject one). */
  resolve?: Resolver;
  /** CA certificates (PEM) the run's TLS connections trust instead of Node's roots (tests). */
  ca?: string | string[];
  /** Cloud Storage endpoint for gs:// notebook sources (tests; STORAGE_EMULATOR_HOST works too). */
  gcsApiEndpoint?: string;
  /** Job mode, the function: what starts a job execution (default: Cloud Run RunJob, loaded on first use). */
  launcher?: JobLauncher;
  /** Job mode, the job itself (`nbtrigger job`): the execution and task attempt every record carries. */
  job?: { execution: string; attempt: number };
  /** Aborts the run (the job's SIGTERM). */
  signal?: AbortSignal;
}

export interface Processed {
  record: RunRecord;
  error?: NbtError;
}

/** Attributes the deploy module (and the local cron) put on scheduled messages. */
const SCHEDULE_ATTR = 'nbtrigger-schedule';
const CONCURRENCY_ATTR = 'nbtrigger-concurrency';

/** Handles one message. */
export async function processMessage(
  message: PubsubMessage,
  env: HandlerEnv,
  cfg: FunctionConfig,
  deps: ProcessDeps,
): Promise<Processed> {
  const started = deps.now();
  const text = decodeData(message.data);
  // Job mode: a message naming `job` runs as a Cloud Run Job execution, not here (functions/jobs/).
  if (jobField(text) !== undefined && deps.job === undefined) {
    const { dispatchJob } = await import('./jobs/dispatch.js');
    // The local stack runs `nbtrigger job` as a child process; a deployment calls Cloud Run's RunJob.
    const launcher =
      deps.launcher ??
      (env.NBTRIGGER_LOCAL_JOB_BIN
        ? (await import('./jobs/local-launcher.js')).localLauncher(env.NBTRIGGER_LOCAL_JOB_BIN, deps.log)
        : (await import('./jobs/cloud-run-launcher.js')).cloudRunLauncher(env));
    return dispatchJob(
      text,
      message,
      env,
      cfg,
      { launcher, log: deps.log, now: deps.now, resolve: deps.resolve },
      overlapOf(message.attributes),
    );
  }
  const request = parseMessage(text, env);
  const token = cfg.token;
  if (token === undefined)
    throw new NbtError('CONFIG', 'JUPYTER_TOKEN is not set on the function (set it from a secret)', {
      details: { field: 'JUPYTER_TOKEN' },
    });
  // SSRF guard: the server must be allowed by its canonical name; every connection of the run and
  // of its outputs goes through one connector that re-checks each resolved address and the peer.
  const guard = guardFromEnv(env, { resolve: deps.resolve, ca: deps.ca });
  guard.check(request.server);
  const connector = guard.connectorFor(request.server);
  // A notebook read from elsewhere must be in ALLOWED_SOURCES, refused before any request.
  const notebookSource = request.source
    ? await messageSource(request.source, sourceAllowlist(env, cfg.output), {
        resolve: deps.resolve,
        ca: deps.ca,
        ...(deps.gcsApiEndpoint ? { gcsApiEndpoint: deps.gcsApiEndpoint } : {}),
      })
    : undefined;
  const overlap = overlapOf(message.attributes);
  const { output, confined } = messageOutputs(request, env, cfg);
  const stores = await storesFor(cfg.state);
  const base = { notebook: request.notebook, server: httpBase(request.server) };
  const key = dedupeKey({ runKey: request.runKey, messageId: message.messageId })!;
  const claim = stores ? await storeCall(() => stores.leases.claim(key, cfg.leaseTtlMs)) : undefined;
  const stamp = (r: RunRecord): RunRecord => (deps.job ? Object.assign(r, deps.job) : r);
  if (claim?.state === 'done') {
    return {
      record: stamp(
        skippedRecord(
          'duplicate',
          `${key} already ran${claim.recordRef ? ` (record ${claim.recordRef})` : ''}`,
          base,
          started,
          deps.now(),
        ),
      ),
    };
  }
  if (claim?.state === 'running') {
    throw new NbtError(
      'IN_PROGRESS',
      `${key} is being run by ${claim.holder} until ${claim.expiresAt}: will retry, not run twice`,
    );
  }
  let completed = false;
  let lock: LockResult | undefined;
  // The leases outlive a run of any length: renewed every third of their TTL until the run is recorded.
  const renewal =
    stores && claim?.state === 'claimed'
      ? setInterval(
          () => {
            void stores.leases.renew(key, cfg.leaseTtlMs, claim.token).catch(() => false);
            if (lock?.state === 'acquired') void lock.renew(cfg.leaseTtlMs).catch(() => false);
          },
          Math.max(1000, Math.floor(cfg.leaseTtlMs / 3)),
        )
      : undefined;
  renewal?.unref();
  try {
    if (stores && overlap && overlap.concurrency !== 'allow') {
      lock = await storeCall(() =>
        stores.leases.lock(overlap.schedule, {
          mode: overlap.concurrency,
          ttlMs: cfg.leaseTtlMs,
          waitMs: cfg.runTimeoutMs / 2,
        }),
      );
      if (lock.state === 'skipped') {
        await storeCall(() => stores.leases.complete(key, null));
        completed = true;
        const record = stamp(
          skippedRecord(
            'overlap',
            `schedule ${overlap.schedule} is still running (${lock.holder}): firing skipped`,
            base,
            started,
            deps.now(),
          ),
        );
        const stored = await finishRun({
          outcome: { record },
          request,
          runId: newRunId(),
          token,
          messageId: message.messageId,
          schedule: overlap.schedule,
          store: stores.runs,
        });
        return { record: stored };
      }
      if (lock.state === 'timed_out') {
        throw new NbtError(
          'IN_PROGRESS',
          `schedule ${overlap.schedule} still running after ${Math.round(lock.waitedMs / 1000)} s ` +
            'of waiting (queue): will retry',
        );
      }
    }
    // A private Cloud Run service wants a Google ID token beside Jupyter's own token.
    const extraHeaders = await idTokens(env).headersFor(request.server);
    const waited = deps.now() - started;
    const outcome = await deps.run({
      request,
      token,
      extraHeaders,
      connector,
      log: deps.log.child({ messageId: message.messageId }),
      limits: { ...cfg.bounds, runTimeoutMs: Math.max(1000, cfg.runTimeoutMs - waited) },
      deferCleanup: true,
      warmKernel: cfg.warmKernel,
      ...(notebookSource ? { notebookSource } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    stamp(outcome.record);
    // Outputs and the record are written while the kernel is deleted; never return before it is.
    let stored: StoredRun;
    try {
      stored = await finishRun({
        outcome,
        request,
        runId: newRunId(),
        token,
        messageId: message.messageId,
        output,
        html: cfg.html,
        store: stores?.runs,
        notify: cfg.notify,
        connector,
        resolve: deps.resolve,
        ...(overlap ? { schedule: overlap.schedule } : {}),
        ...(confined ? { sinkDeps: confined } : {}),
      });
    } finally {
      await outcome.cleanup;
    }
    // A transient failure gives the key back so the redelivery may run; anything else is final.
    if (stores && !outcome.error?.retryable) {
      await stores.leases
        .complete(key, stored.runId)
        .catch((e: unknown) => deps.log.log('WARNING', 'dedupe lease not completed', { key, error: String(e) }));
      completed = true;
    }
    return { record: stored, ...(outcome.error ? { error: outcome.error } : {}) };
  } finally {
    clearInterval(renewal);
    if (lock?.state === 'acquired') await lock.release().catch(() => false);
    if (stores && !completed) await stores.leases.release(key).catch(() => false);
  }
}

let provider: IdTokenProvider | undefined;
/** One ID-token provider per process (its cache spans invocations). */
function idTokens(env: HandlerEnv): IdTokenProvider {
  provider ??= createIdTokenProvider({ env });
  return provider;
}

/** The schedule and its concurrency, from the message attributes (absent: not a scheduled run). */
function overlapOf(attributes: Record<string, string>): { schedule: string; concurrency: Concurrency } | undefined {
  const schedule = attributes[SCHEDULE_ATTR];
  if (!schedule) return undefined;
  const c = attributes[CONCURRENCY_ATTR] ?? 'skip';
  if (c !== 'skip' && c !== 'queue' && c !== 'allow') {
    throw new NbtError(
      'BAD_MESSAGE',
      `attribute ${CONCURRENCY_ATTR} must be skip, queue or allow, got "${c.slice(0, 40)}"`,
      { details: { field: `attributes.${CONCURRENCY_ATTR}` } },
    );
  }
  return { schedule, concurrency: c };
}

/** Store errors are transient (retry), except our own classified ones. */
async function storeCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isNbtError(e) && e.code !== 'INTERNAL') throw e;
    throw new NbtError('STORE_UNAVAILABLE', `state store failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}
