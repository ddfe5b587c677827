/**
 * The function served by functions-framework as a child process, exactly as Cloud Functions
 * serves it (`--target=runNotebook --signature-type=cloudevent`, `main` of package.json), with
 * its structured log lines captured so callers can wait for a line or a run's final record.
 * The one place that starts it: the local stack (`nbtrigger local`), the tests' fixture and the
 * benchmarks all build on this.
 *
 * Spec: docs/function.md (`npx functions-framework …` serves the built function).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NbtError } from '../../functions/errors.js';
import type { RunRecord } from '../../functions/run/record.js';
import { PROJECT_ROOT } from '../project-root.js';
import { onFreePort } from './jupyter-server.js';

/** One parsed Cloud Logging JSON line from the function's stdout. */
export interface LogLine {
  severity: string;
  message: string;
  [field: string]: unknown;
}

export interface FunctionServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  port: number;
  child: ChildProcess;
  /** ms from spawn until it listened. */
  listenMs: number;
  /** What was written to stdout / stderr: all of it with `keepOutput`, else the last 64 KiB. */
  stdout(): string;
  stderr(): string;
  /** The parsed JSON log lines kept so far (all, or the last `maxLines`). */
  lines(): LogLine[];
  /** Waits (bounded) for a line matching `pred`, among those kept and those to come. */
  waitForLine(pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the final record of the run for `messageId`. */
  waitForRecord(messageId: string, timeoutMs?: number): Promise<RunRecord>;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s); safe to call twice. */
  stop(): Promise<void>;
}

export interface FunctionServerOptions {
  /** The child's whole environment (nothing is added from this process's). */
  env: NodeJS.ProcessEnv;
  port?: number;
  /** Picks a free port when `port` is not given (default: freePort; tests hand out a taken one). */
  pickPort?: () => Promise<number>;
  /** Project whose built function is served (default: this one; the bench passes another checkout). */
  root?: string;
  /** Bound on the wait until it listens (default 120 s: a hang bound, see below). */
  startTimeoutMs?: number;
  /** Called with every stdout line. */
  echo?: (line: string) => void;
  /** Keep all output text (tests grep it), not only its tail. */
  keepOutput?: boolean;
  /** Keep at most this many parsed lines (a long-running local stack); default: all. */
  maxLines?: number;
  /** Its own process group (the bench kills groups); default: this one's, so Ctrl-C reaches it. */
  detached?: boolean;
}

const TAIL = 64 * 1024;

/** Path of functions-framework's CLI in a project. */
function ffMain(root = PROJECT_ROOT): string {
  return join(root, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
}

/**
 * Starts the function on a free port (or `port`); resolves once it listens. A free port is only
 * free when it is picked: another process may bind it before functions-framework does, and then
 * that process, not this child, accepts connections on it. So readiness is the child's own word
 * ("Serving function..." on stdout, printed from its listen callback), and a child that exits
 * with EADDRINUSE is started again on another port (onFreePort).
 */
export function startFunctionServer(opts: FunctionServerOptions): Promise<FunctionServer> {
  const taken = (e: unknown): boolean => e instanceof NbtError && e.message.endsWith(TAKEN);
  return onFreePort(opts.port, (port) => startOn(opts, port), taken, 5, opts.pickPort);
}

const TAKEN = 'is taken by another process';

async function startOn(opts: FunctionServerOptions, port: number): Promise<FunctionServer> {
  const root = opts.root ?? PROJECT_ROOT;
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [ffMain(root), '--target=runNotebook', '--signature-type=cloudevent', `--port=${port}`, `--source=${root}`],
    {
      cwd: root,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: opts.detached === true,
    },
  );
  live.add(child);
  const keep = (s: string, add: string): string => (opts.keepOutput ? s + add : (s + add).slice(-TAIL));
  let out = '';
  let err = '';
  let partial = '';
  const parsed: LogLine[] = [];
  let serving = false;
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    out = keep(out, chunk);
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      if (line === 'Serving function...') serving = true;
      opts.echo?.(line);
      const l = parseLine(line);
      if (l) parsed.push(l);
    }
    if (opts.maxLines !== undefined && parsed.length > opts.maxLines) parsed.splice(0, parsed.length - opts.maxLines);
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (chunk: string) => {
    err = keep(err, chunk);
  });
  const exited = new Promise<void>((res) =>
    child.once('exit', () => {
      live.delete(child);
      for (const w of waiters) w();
      res();
    }),
  );
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const stop = async (): Promise<void> => {
    if (gone()) return;
    child.kill('SIGTERM');
    if (!(await Promise.race([exited.then(() => true), sleep(5000, false, { ref: false })]))) {
      child.kill('SIGKILL');
      await Promise.race([exited, sleep(5000, undefined, { ref: false })]);
    }
  };
  // A hang bound, not a speed one: a process that fails exits (caught below at once), while on a
  // machine whose cores are busy functions-framework can take tens of seconds to load and listen.
  const startTimeoutMs = opts.startTimeoutMs ?? 120_000;
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (gone()) {
      if (/EADDRINUSE/.test(err)) throw new NbtError('CONFIG', `functions-framework: port ${port} ${TAKEN}`);
      const exit = `code ${child.exitCode}, signal ${child.signalCode}`;
      throw new NbtError('CONFIG', `functions-framework exited before listening (${exit}): ${err.trim().slice(-500)}`);
    }
    // functions-framework prints its banner only outside production; there, a connection must do.
    if (serving || (opts.env.NODE_ENV === 'production' && (await canConnect(port)))) break;
    if (Date.now() > deadline) {
      await stop();
      const within = `${Math.round(startTimeoutMs / 1000)} s`;
      throw new NbtError(
        'CONFIG',
        `functions-framework did not listen on ${port} within ${within}: ${err.trim().slice(-500)}`,
      );
    }
    await sleep(5);
  }
  const listenMs = performance.now() - t0;
  const waitFor = <T>(find: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = find();
        if (hit !== undefined) {
          done();
          resolve(hit);
        } else if (gone()) {
          done();
          reject(
            new NbtError(
              'SERVER_UNREACHABLE',
              `the function process exited while waiting for ${what}\n` +
                `stdout:\n${out.slice(-4000)}\nstderr:\n${err.slice(-4000)}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new NbtError(
            'TIMEOUT',
            `no ${what} within ${timeoutMs} ms\nstdout:\n${out.slice(-4000)}\nstderr:\n${err.slice(-4000)}`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    listenMs,
    stdout: () => out,
    stderr: () => err,
    lines: () => [...parsed],
    waitForLine: (pred, timeoutMs = 30_000) => waitFor(() => parsed.find(pred), timeoutMs, 'matching log line'),
    waitForRecord: (messageId, timeoutMs = 600_000) =>
      waitFor(
        () => {
          const hit = parsed.find(
            (l) => typeof l.record === 'object' && l.record !== null && (l.record as RunRecord).messageId === messageId,
          );
          return hit?.record as RunRecord | undefined;
        },
        timeoutMs,
        `run record for message ${messageId}`,
      ),
    stop,
  };
}

/** Children still running; killed if this process exits first. */
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
