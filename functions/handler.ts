/**
 * The Pub/Sub-triggered function body: CloudEvent → validated message → request → run →
 * one structured log line with the run record → ack (return) or retry (throw).
 *
 * It returns on success and on every permanent outcome (bad message, notebook failure, auth
 * refused, notebook missing, bad configuration) and throws only on a transient one (server
 * unreachable, 5xx, kernel died before the first cell), and even then only inside a bounded
 * retry window, so a message is never redelivered forever.
 *
 * Spec: ../shared/design/README.md §1–§2; issue "Run a notebook …" (function contract);
 * https://cloud.google.com/eventarc/docs/cloudevents (google.cloud.pubsub.topic.v1.messagePublished).
 * @module
 */
import { NbtError, toNbtError } from './errors.js';
import { createLogger, redact, type Logger } from './log.js';
import { decodeData, parseMessage, type GrammarEnv } from './request/grammar.js';
import { guardFromEnv } from './security/guard.js';
import { rejectedRecord, type RunRecord } from './run/record.js';
import { runNotebook, type RunOptions, type RunOutcome } from './run/runner.js';

/** The parts of a CloudEvent the handler reads (functions-framework's CloudEvent fits). */
export interface PubsubCloudEvent {
  id?: string;
  type?: string;
  source?: string;
  data?: unknown;
}

/** A validated Pub/Sub message (MessagePublishedData.message). */
export interface PubsubMessage {
  data: string;
  messageId: string;
  attributes: Record<string, string>;
  publishTime?: string;
  deliveryAttempt?: number;
}

export interface HandlerEnv extends GrammarEnv {
  JUPYTER_TOKEN?: string;
  /** Servers the function may talk to: `host[:port]` patterns (default: JUPYTER_SERVER exactly). */
  ALLOWED_SERVERS?: string;
  /** The function's timeout in seconds (Cloud Functions default 540 for event functions). */
  FUNCTION_TIMEOUT_SEC?: string;
  /** How long after publishing a transient failure is still retried, seconds (default 1800). */
  NBTRIGGER_RETRY_WINDOW_SEC?: string;
  /** Delivery attempts after which a transient failure is given up (default 10). */
  NBTRIGGER_MAX_ATTEMPTS?: string;
}

export interface HandlerDeps {
  env?: HandlerEnv;
  write?: (line: string) => void;
  run?: (opts: RunOptions) => Promise<RunOutcome>;
  now?: () => number;
  /** Called with each finished record (local stack, tests). */
  onRecord?: (record: RunRecord) => void;
}

/** Seconds kept between the run deadline and the platform's kill, for interrupt, delete and logging. */
export const DEADLINE_MARGIN_SEC = 30;

/** Builds the CloudEvent handler. Reads the environment once per invocation (tests pass plain data). */
export function createHandler(deps: HandlerDeps = {}): (event: PubsubCloudEvent) => Promise<void> {
  const run = deps.run ?? runNotebook;
  const now = deps.now ?? Date.now;
  return async (event) => {
    const env = deps.env ?? (process.env as HandlerEnv);
    const token = env.JUPYTER_TOKEN;
    const log = createLogger({ write: deps.write, secrets: token ? [token] : [], minSeverity: 'DEBUG' }).child({ eventId: event?.id });
    const started = now();
    let message: PubsubMessage | undefined;
    let outcome: RunOutcome;
    try {
      message = validateEvent(event);
      const request = parseMessage(decodeData(message.data), env);
      if (token === undefined) throw new NbtError('CONFIG', 'JUPYTER_TOKEN is not set on the function (set it from a secret)', { details: { field: 'JUPYTER_TOKEN' } });
      const timeoutSec = positiveNumber(env.FUNCTION_TIMEOUT_SEC, 540);
      // SSRF guard: the server must be allowed by name, and every address it resolves to is re-checked.
      const guard = guardFromEnv(env);
      guard.check(request.server);
      outcome = await run({ request, token, lookup: guard.lookupFor(request.server), log: log.child({ messageId: message.messageId }), limits: { runTimeoutMs: Math.max(10, timeoutSec - DEADLINE_MARGIN_SEC) * 1000 } });
    } catch (e) {
      const err = toNbtError(e);
      outcome = { record: rejectedRecord(err, started, now()), error: err };
    }
    const record = outcome.record;
    if (message) record.messageId = message.messageId;
    deps.onRecord?.(record);
    const retry = outcome.error?.retryable === true && withinRetryWindow(message, env, now(), log);
    finalLog(log, record, retry);
    if (retry) throw retryError(outcome.error!, token ? [token] : []);
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

/** Checks the CloudEvent's Pub/Sub payload; throws BAD_MESSAGE naming the bad field. */
export function validateEvent(event: PubsubCloudEvent): PubsubMessage {
  if (typeof event !== 'object' || event === null) throw bad('event', 'event is not an object');
  let data = event.data;
  // functions-framework converts a raw Pub/Sub push body (`{message, subscription}`) into a CloudEvent
  // only when message.data is non-empty; otherwise the body itself arrives as the "event".
  if (data === undefined && typeof (event as { message?: unknown }).message === 'object') data = event;
  if (typeof data === 'string' || Buffer.isBuffer(data)) {
    try {
      data = JSON.parse(data.toString());
    } catch {
      throw bad('data', 'event data is not JSON (expected a Pub/Sub MessagePublishedData)');
    }
  }
  if (typeof data !== 'object' || data === null) throw bad('data', 'event has no data (expected a Pub/Sub MessagePublishedData)');
  const msg = (data as Record<string, unknown>).message;
  if (typeof msg !== 'object' || msg === null) throw bad('data.message', 'event data has no "message" object');
  const m = msg as Record<string, unknown>;
  const messageId = m.messageId ?? m.message_id;
  if (typeof messageId !== 'string' || messageId === '') throw bad('data.message.messageId', 'message has no messageId');
  const attributes = m.attributes ?? {};
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes) ||
    Object.values(attributes).some((v) => typeof v !== 'string')) {
    throw bad('data.message.attributes', 'message attributes must be an object of strings');
  }
  if (m.data !== undefined && typeof m.data !== 'string') throw bad('data.message.data', 'message data must be a base64 string');
  const out: PubsubMessage = { data: (m.data as string | undefined) ?? '', messageId, attributes: attributes as Record<string, string> };
  const publishTime = m.publishTime ?? m.publish_time;
  if (typeof publishTime === 'string') out.publishTime = publishTime;
  const attempt = (data as Record<string, unknown>).deliveryAttempt ?? m.deliveryAttempt;
  if (typeof attempt === 'number') out.deliveryAttempt = attempt;
  return out;
}

function bad(field: string, message: string): NbtError {
  return new NbtError('BAD_MESSAGE', message, { details: { field } });
}

/** A transient failure is retried only while the message is young and has few attempts. */
function withinRetryWindow(m: PubsubMessage | undefined, env: HandlerEnv, now: number, log: Logger): boolean {
  if (!m) return true;
  const windowSec = positiveNumber(env.NBTRIGGER_RETRY_WINDOW_SEC, 1800);
  const maxAttempts = positiveNumber(env.NBTRIGGER_MAX_ATTEMPTS, 10);
  const published = m.publishTime ? Date.parse(m.publishTime) : NaN;
  const ageSec = Number.isNaN(published) ? 0 : (now - published) / 1000;
  if (ageSec > windowSec || (m.deliveryAttempt ?? 0) >= maxAttempts) {
    log.log('WARNING', 'transient failure outside the retry window: acknowledging, not retrying',
      { messageId: m.messageId, ageSec: Math.round(ageSec), deliveryAttempt: m.deliveryAttempt, windowSec, maxAttempts });
    return false;
  }
  return true;
}

function positiveNumber(v: string | undefined, fallback: number): number {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function finalLog(log: Logger, record: RunRecord, retry: boolean): void {
  const severity = record.status === 'succeeded' ? 'INFO' : retry ? 'WARNING' : 'ERROR';
  const what = record.notebook ?? 'message';
  const tail = record.status === 'succeeded' ? '' : `: ${record.error?.message ?? ''}`;
  log.log(severity, `run ${record.status}: ${what}${tail}${retry ? ' (will retry)' : ''}`, { record, ack: !retry });
}
