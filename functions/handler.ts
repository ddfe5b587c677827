/**
 * The Pub/Sub-triggered function body: CloudEvent → validated message → request → run →
 * one structured log line with the run record → ack (return) or retry (throw).
 *
 * It returns on success and on every permanent outcome (bad message, notebook failure, auth
 * refused, notebook missing, bad configuration) and throws only on a transient one (server
 * unreachable, 5xx, kernel died before the first cell), and even then only inside a bounded
 * retry window, so a message is never redelivered forever.
 *
 * Spec: docs/architecture.md and docs/function.md (the function contract);
 * https://cloud.google.com/eventarc/docs/cloudevents (google.cloud.pubsub.topic.v1.messagePublished).
 * @module
 */
import { functionConfig, type HandlerEnv } from './config.js';
import { validateEvent, type PubsubCloudEvent, type PubsubMessage } from './event.js';
import { NbtError, toNbtError } from './errors.js';
import { createLogger, redact, type Logger } from './log.js';
import { processMessage, type Processed } from './process.js';
import { rejectedRecord, type RunRecord } from './run/record.js';
import { runNotebook, type RunOptions, type RunOutcome } from './run/runner.js';
import type { Resolver } from './security/connector.js';

export { validateEvent, type PubsubCloudEvent, type PubsubMessage } from './event.js';
export { DEADLINE_MARGIN_SEC, type HandlerEnv } from './config.js';

export interface HandlerDeps {
  env?: HandlerEnv;
  write?: (line: string) => void;
  run?: (opts: RunOptions) => Promise<RunOutcome>;
  now?: () => number;
  /** Called with each finished record (local stack, tests). */
  onRecord?: (record: RunRecord) => void;
  /** DNS resolver behind every connection's SSRF guard (default: the system's; tests inject one). */
  resolve?: Resolver;
  /** CA certificates (PEM) the run's TLS connections trust instead of Node's roots (tests: a self-signed server). */
  ca?: string | string[];
}

/** Builds the CloudEvent handler. Reads the environment once per invocation (tests pass plain data). */
export function createHandler(deps: HandlerDeps = {}): (event: PubsubCloudEvent) => Promise<void> {
  const run = deps.run ?? runNotebook;
  const now = deps.now ?? Date.now;
  return async (event) => {
    const env = deps.env ?? (process.env as HandlerEnv);
    const cfg = functionConfig(env);
    const secrets = cfg.token ? [cfg.token] : [];
    const log = createLogger({ write: deps.write, secrets, minSeverity: 'DEBUG' }).child({ eventId: event?.id });
    const started = now();
    let message: PubsubMessage | undefined;
    let result: Processed;
    try {
      message = validateEvent(event);
      result = await processMessage(message, env, cfg, { run, log, now, resolve: deps.resolve, ca: deps.ca });
    } catch (e) {
      const err = toNbtError(e);
      if (err.code === 'INTERNAL') log.log('ERROR', 'internal error', { error: String((e as Error)?.stack ?? e) });
      result = { record: rejectedRecord(err, started, now()), error: err };
    }
    const record = result.record;
    if (message) record.messageId = message.messageId;
    deps.onRecord?.(record);
    const retry = result.error?.retryable === true && withinRetryWindow(message, cfg, now(), log);
    finalLog(log, record, retry);
    if (retry) throw retryError(result.error!, secrets);
  };
}

/**
 * The error thrown to make Pub/Sub redeliver. functions-framework prints the thrown error's
 * `stack` on stderr (outside our redacting logger) and, unless NODE_ENV=production, sends its
 * `message` as the 500 body: so both are one redacted line, never a multi-line trace.
 */
function retryError(err: NbtError, secrets: string[]): NbtError {
  const e = new NbtError(err.code, redact(err.message, secrets), { details: err.details, retryable: true });
  e.stack = `${e.name} ${e.code} (will retry): ${e.message}`;
  return e;
}

/** A transient failure is retried only while the message is young and has few attempts. */
function withinRetryWindow(
  m: PubsubMessage | undefined,
  cfg: { retryWindowSec: number; maxAttempts: number },
  now: number,
  log: Logger,
): boolean {
  if (!m) return true;
  const published = m.publishTime ? Date.parse(m.publishTime) : NaN;
  const ageSec = Number.isNaN(published) ? 0 : (now - published) / 1000;
  if (ageSec > cfg.retryWindowSec || (m.deliveryAttempt ?? 0) >= cfg.maxAttempts) {
    log.log('WARNING', 'transient failure outside the retry window: acknowledging, not retrying', {
      messageId: m.messageId,
      ageSec: Math.round(ageSec),
      deliveryAttempt: m.deliveryAttempt,
      windowSec: cfg.retryWindowSec,
      maxAttempts: cfg.maxAttempts,
    });
    return false;
  }
  return true;
}

function finalLog(log: Logger, record: RunRecord, retry: boolean): void {
  const what = record.notebook ?? 'message';
  if (record.error?.code === 'IN_PROGRESS') {
    // A duplicate delivery of a message whose first run is still going: not run twice, retried later.
    log.log('NOTICE', `duplicate delivery: ${record.error.message}`, { record, ack: !retry, duplicate: true });
    return;
  }
  const ok = record.status === 'succeeded' || record.status === 'skipped';
  const severity =
    record.status === 'succeeded' ? 'INFO' : record.status === 'skipped' ? 'NOTICE' : retry ? 'WARNING' : 'ERROR';
  const tail = ok ? (record.skip ? `: ${record.skip.detail}` : '') : `: ${record.error?.message ?? ''}`;
  log.log(severity, `run ${record.status}: ${what}${tail}${retry ? ' (will retry)' : ''}`, {
    record,
    ack: !retry,
    ...(record.skip?.reason === 'duplicate' ? { duplicate: true } : {}),
  });
}
