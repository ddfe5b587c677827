/**
 * Test fixture: the built function served by the real functions-framework as a child process
 * (`node …/functions-framework/build/src/main.js --target=runNotebook --signature-type=cloudevent`,
 * run from the project root so `package.json` `main` is what gets loaded), on a free port.
 * Captures stdout and stderr, parses the Cloud Logging JSON lines, and stops the process after.
 *
 * Also builds Pub/Sub CloudEvent requests in both content modes and the raw Pub/Sub push body.
 * Spec: docs/testing.md; https://github.com/cloudevents/spec (HTTP binding).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startFunctionServer as spawnFunction, type FunctionServer as Served, type LogLine } from '../../cli/local/function-server.js';

export type { LogLine };

/** The final line of one invocation: it carries the run record and the ack decision. */
export interface FinalLine extends LogLine {
  record: {
    status: string;
    notebook?: string;
    server?: string;
    messageId?: string;
    lastResult?: Record<string, unknown>;
    error?: { code: string; message: string; [k: string]: unknown };
    cells?: Record<string, number>;
    [k: string]: unknown;
  };
  ack: boolean;
}

/** The served function (cli/local/function-server.ts) with what tests add: requests and lines by event. */
export interface FunctionServer extends Served {
  /** Lines whose `eventId` is `id` (every line of one invocation carries the CloudEvent id). */
  linesFor(eventId: string): LogLine[];
  /** POSTs a request; answers status and body text. */
  post(req: HttpRequest, path?: string): Promise<{ status: number; body: string }>;
  /** Where the function writes run records and outputs (`NBTRIGGER_RUNS_DIR`). */
  runsDir: string;
}

export interface HttpRequest {
  headers: Record<string, string>;
  body: string;
}

/** Variables the function reads; the parent's are dropped so they cannot leak into a test. */
const FUNCTION_VARS = /^(JUPYTER_|NBTRIGGER_|FUNCTION_|K_SERVICE$|PORT$|LOG_EXECUTION_ID$|NODE_ENV$|NODE_TEST_CONTEXT$)/;

/**
 * Starts functions-framework serving `runNotebook` with `env` (added to a cleaned copy of process.env).
 * Test servers live on 127.0.0.1, so `ALLOWED_SERVERS` defaults to `127.0.0.1:*`, and records go to a
 * fresh temp folder (`NBTRIGGER_RUNS_DIR`, removed by `stop()`; `runsDir` says where); pass either to
 * override. All output is kept (tests grep it).
 */
export async function startFunctionServer(opts: { env?: Record<string, string>; startTimeoutMs?: number; port?: number } = {}): Promise<FunctionServer> {
  const baseEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !FUNCTION_VARS.test(k)) baseEnv[k] = v;
  const ownRuns = opts.env?.NBTRIGGER_RUNS_DIR === undefined ? await mkdtemp(join(tmpdir(), 'nbtrigger-ff-runs-')) : undefined;
  const env = { ...baseEnv, ALLOWED_SERVERS: '127.0.0.1:*', ...(ownRuns === undefined ? {} : { NBTRIGGER_RUNS_DIR: ownRuns }), ...opts.env };
  let served: Served;
  try {
    // A hang bound, not a speed one: on a loaded CI machine functions-framework may take tens of seconds to listen.
    served = await spawnFunction({
      env, keepOutput: true, startTimeoutMs: opts.startTimeoutMs ?? 120_000,
      ...(opts.port !== undefined ? { port: opts.port } : {}),
    });
  } catch (e) {
    if (ownRuns) await rm(ownRuns, { recursive: true, force: true });
    throw e;
  }
  return {
    ...served,
    runsDir: env.NBTRIGGER_RUNS_DIR!,
    async stop() {
      await served.stop();
      if (ownRuns) await rm(ownRuns, { recursive: true, force: true });
    },
    linesFor: (eventId) => served.lines().filter((l) => l.eventId === eventId),
    async post(req, path = '/') {
      const res = await request(`${served.url}${path}`, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
        headersTimeout: 120_000,
        bodyTimeout: 120_000,
      });
      return { status: res.statusCode, body: await res.body.text() };
    },
  };
}

/** True when `l` is the final line of an invocation (it holds the record and the ack flag). */
export function isFinal(l: LogLine): l is FinalLine {
  return typeof l.record === 'object' && l.record !== null && typeof l.ack === 'boolean';
}

// ---------------------------------------------------------------------------------------------
// Pub/Sub CloudEvents (google.cloud.pubsub.topic.v1.messagePublished)

export const PUBSUB_CE_TYPE = 'google.cloud.pubsub.topic.v1.messagePublished';

export interface PubsubEventOptions {
  /** Message text; base64-encoded into `message.data` unless `rawData` is given. */
  text?: string;
  /** `message.data` exactly as given (to send something that is not base64). */
  rawData?: string;
  /** CloudEvent id (also the id every log line of the invocation carries). Random by default. */
  id?: string;
  messageId?: string;
  publishTime?: string;
  attributes?: Record<string, string>;
  project?: string;
  topic?: string;
}

/** MessagePublishedData, as Eventarc delivers it. */
export function messagePublishedData(o: PubsubEventOptions): Record<string, unknown> {
  const project = o.project ?? 'nbtrigger-test';
  return {
    message: {
      data: o.rawData ?? Buffer.from(o.text ?? '', 'utf8').toString('base64'),
      messageId: o.messageId ?? String(Math.floor(Math.random() * 1e12)),
      publishTime: o.publishTime ?? new Date().toISOString(),
      attributes: o.attributes ?? {},
    },
    subscription: `projects/${project}/subscriptions/eventarc-sub`,
  };
}

function ceSource(o: PubsubEventOptions): string {
  return `//pubsub.googleapis.com/projects/${o.project ?? 'nbtrigger-test'}/topics/${o.topic ?? 't_nbtrigger'}`;
}

/** A structured-mode CloudEvent: the whole event in a JSON body, `application/cloudevents+json`. */
export function structuredEvent(o: PubsubEventOptions): HttpRequest & { id: string } {
  const id = o.id ?? randomUUID();
  const body = {
    specversion: '1.0',
    type: PUBSUB_CE_TYPE,
    source: ceSource(o),
    id,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: messagePublishedData(o),
  };
  return { id, headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' }, body: JSON.stringify(body) };
}

/** A binary-mode CloudEvent: attributes in `ce-*` headers, the data (MessagePublishedData) as the JSON body. */
export function binaryEvent(o: PubsubEventOptions): HttpRequest & { id: string } {
  const id = o.id ?? randomUUID();
  return {
    id,
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-type': PUBSUB_CE_TYPE,
      'ce-source': ceSource(o),
      'ce-id': id,
      'ce-time': new Date().toISOString(),
    },
    body: JSON.stringify(messagePublishedData(o)),
  };
}

/**
 * The raw body a Pub/Sub push subscription (or the emulator) POSTs — not a CloudEvent.
 * functions-framework's legacy Pub/Sub middleware turns it into a CloudEvent whose id is the
 * messageId; the topic in the CloudEvent source comes from the request path (`/projects/P/topics/T`).
 */
export function rawPushRequest(o: PubsubEventOptions): HttpRequest & { id: string } {
  const data = messagePublishedData(o) as { message: { messageId: string } };
  return { id: data.message.messageId, headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) };
}
