/**
 * Test fixture: the built function served by the real functions-framework as a child process
 * (`node …/functions-framework/build/src/main.js --target=runNotebook --signature-type=cloudevent`,
 * run from the project root so `package.json` `main` is what gets loaded), on a free port.
 * Captures stdout and stderr, parses the Cloud Logging JSON lines, and stops the process after.
 *
 * Also builds Pub/Sub CloudEvent requests in both content modes (cli/local/publish.ts) and the raw Pub/Sub push body.
 * Spec: docs/testing.md; https://github.com/cloudevents/spec (HTTP binding).
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import {
  startFunctionServer as spawnFunction,
  type FunctionServer as Served,
  type LogLine,
} from '../../cli/local/function-server.js';
import {
  binaryEvent as binary,
  messagePublishedData,
  structuredEvent as structured,
  type PublishedMessage,
} from '../../cli/local/publish.js';

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
const FUNCTION_VARS =
  /^(JUPYTER_|NBTRIGGER_|FUNCTION_|K_SERVICE$|PORT$|LOG_EXECUTION_ID$|NODE_ENV$|NODE_TEST_CONTEXT$)/;

/**
 * Starts functions-framework serving `runNotebook` with `env` (added to a cleaned copy of process.env).
 * Test servers live on 127.0.0.1, so `ALLOWED_SERVERS` defaults to `127.0.0.1:*`, and records go to a
 * fresh temp folder (`NBTRIGGER_RUNS_DIR`, removed by `stop()`; `runsDir` says where); pass either to
 * override. All output is kept (tests grep it).
 */
export async function startFunctionServer(
  opts: { env?: Record<string, string>; startTimeoutMs?: number; port?: number } = {},
): Promise<FunctionServer> {
  const baseEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !FUNCTION_VARS.test(k)) baseEnv[k] = v;
  const ownRuns =
    opts.env?.NBTRIGGER_RUNS_DIR === undefined ? await mkdtemp(join(tmpdir(), 'nbtrigger-ff-runs-')) : undefined;
  const env = {
    ...baseEnv,
    ALLOWED_SERVERS: '127.0.0.1:*',
    ...(ownRuns === undefined ? {} : { NBTRIGGER_RUNS_DIR: ownRuns }),
    ...opts.env,
  };
  let served: Served;
  try {
    // A hang bound, not a speed one: on a loaded CI machine functions-framework may take tens of seconds to listen.
    served = await spawnFunction({
      env,
      keepOutput: true,
      startTimeoutMs: opts.startTimeoutMs ?? 120_000,
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
// Pub/Sub CloudEvents (google.cloud.pubsub.topic.v1.messagePublished), built as cli/local/publish.ts builds them

/** A message for the events below; the project defaults to `nbtrigger-test`. */
export type PubsubEventOptions = PublishedMessage & { id?: string };

const inTestProject = (o: PubsubEventOptions): PubsubEventOptions => ({ project: 'nbtrigger-test', ...o });

/** A structured-mode CloudEvent: the whole event in a JSON body, `application/cloudevents+json`. */
export function structuredEvent(o: PubsubEventOptions): HttpRequest & { id: string } {
  return structured(inTestProject(o));
}

/** A binary-mode CloudEvent: attributes in `ce-*` headers, the data (MessagePublishedData) as the JSON body. */
export function binaryEvent(o: PubsubEventOptions): HttpRequest & { id: string } {
  return binary(inTestProject(o));
}

/**
 * The raw body a Pub/Sub push subscription (or the emulator) POSTs — not a CloudEvent.
 * functions-framework's legacy Pub/Sub middleware turns it into a CloudEvent whose id is the
 * messageId; the topic in the CloudEvent source comes from the request path (`/projects/P/topics/T`).
 */
export function rawPushRequest(o: PubsubEventOptions): HttpRequest & { id: string } {
  const data = messagePublishedData(inTestProject(o));
  return { id: data.message.messageId, headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) };
}
