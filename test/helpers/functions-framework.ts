/**
 * Test fixture: the built function served by the real functions-framework as a child process
 * (`node …/functions-framework/build/src/main.js --target=runNotebook --signature-type=cloudevent`,
 * run from the project root so `package.json` `main` is what gets loaded), on a free port.
 * Captures stdout and stderr, parses the Cloud Logging JSON lines, and stops the process after.
 *
 * Also builds Pub/Sub CloudEvent requests in both content modes and the raw Pub/Sub push body.
 * Spec: ../shared/design/README.md §4; https://github.com/cloudevents/spec (HTTP binding).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { freePort, PROJECT_ROOT } from '../../cli/jupyter-server.js';

/** One parsed Cloud Logging JSON line from the function's stdout. */
export interface LogLine {
  severity: string;
  message: string;
  [field: string]: unknown;
}

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

export interface FunctionServer {
  port: number;
  /** `http://127.0.0.1:PORT` */
  url: string;
  child: ChildProcess;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Parsed JSON lines of stdout so far (non-JSON lines are skipped). */
  lines(): LogLine[];
  /** Lines whose `eventId` is `id` (every line of one invocation carries the CloudEvent id). */
  linesFor(eventId: string): LogLine[];
  /** Waits (bounded) for a line matching `pred`; rejects with the captured output on timeout. */
  waitForLine(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** POSTs a request; answers status and body text. */
  post(req: HttpRequest, path?: string): Promise<{ status: number; body: string }>;
  /** Stops the process (SIGTERM, then SIGKILL); safe to call twice. */
  stop(): Promise<void>;
}

export interface HttpRequest {
  headers: Record<string, string>;
  body: string;
}

/** The functions-framework CLI entry in node_modules. */
export const FF_MAIN = join(PROJECT_ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');

/** Variables the function reads; the parent's are dropped so they cannot leak into a test. */
const FUNCTION_VARS = /^(JUPYTER_|NBTRIGGER_|FUNCTION_|K_SERVICE$|PORT$|LOG_EXECUTION_ID$|NODE_ENV$|NODE_TEST_CONTEXT$)/;

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/**
 * Starts functions-framework serving `runNotebook` with `env` (added to a cleaned copy of process.env).
 * Test servers live on 127.0.0.1, so `ALLOWED_SERVERS` defaults to `127.0.0.1:*`, and records go to a
 * fresh temp folder (`NBTRIGGER_RUNS_DIR`); pass either to override.
 */
export async function startFunctionServer(opts: { env?: Record<string, string>; startTimeoutMs?: number } = {}): Promise<FunctionServer> {
  const port = await freePort();
  const baseEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !FUNCTION_VARS.test(k)) baseEnv[k] = v;
  const child = spawn(process.execPath, [FF_MAIN, '--target=runNotebook', '--signature-type=cloudevent', `--port=${port}`], {
    cwd: PROJECT_ROOT,
    env: { ...baseEnv, ALLOWED_SERVERS: '127.0.0.1:*', NBTRIGGER_RUNS_DIR: await mkdtemp(join(tmpdir(), 'nbtrigger-ff-runs-')), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  const parsed: LogLine[] = [];
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      const l = parseLine(line);
      if (l) parsed.push(l);
    }
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<void>((res) => child.once('exit', () => {
    live.delete(child);
    for (const w of waiters) w();
    res();
  }));

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(5000, undefined, { ref: false }).then(() => false)]);
    if (!done) {
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(5000, undefined, { ref: false })]);
    }
  };

  // Ready when the port accepts connections; fail fast if the process exits.
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`functions-framework exited before listening (code ${child.exitCode}, signal ${child.signalCode})\nstdout:\n${out}\nstderr:\n${err}`);
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`functions-framework did not listen on ${port} in time\nstdout:\n${out}\nstderr:\n${err}`);
    }
    await sleep(50);
  }

  const url = `http://127.0.0.1:${port}`;
  return {
    port,
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    lines: () => [...parsed],
    linesFor: (eventId) => parsed.filter((l) => l.eventId === eventId),
    async waitForLine(pred, timeoutMs = 30_000) {
      const found = parsed.find(pred);
      if (found) return found;
      return await new Promise<LogLine>((res, rej) => {
        const check = (): void => {
          const l = parsed.find(pred);
          if (l) {
            cleanup();
            res(l);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            rej(new Error(`functions-framework exited while waiting for a log line\nstdout:\n${out}\nstderr:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          rej(new Error(`no matching log line within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async post(req, path = '/') {
      const res = await request(`${url}${path}`, {
        method: 'POST',
        headers: req.headers,
        body: req.body,
        headersTimeout: 120_000,
        bodyTimeout: 120_000,
      });
      return { status: res.statusCode, body: await res.body.text() };
    },
    stop,
  };
}

function parseLine(line: string): LogLine | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(t) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as LogLine).severity === 'string') return v as LogLine;
  } catch {
    /* not a log line */
  }
  return undefined;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ port, host: '127.0.0.1' });
    const t = setTimeout(() => {
      s.destroy();
      res(false);
    }, 1000);
    s.once('connect', () => {
      clearTimeout(t);
      s.end();
      res(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      res(false);
    });
  });
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
