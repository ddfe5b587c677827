/**
 * The function served by functions-framework as a child process, exactly as Cloud Functions
 * serves it (`--target=runNotebook --signature-type=cloudevent`, `main` of package.json), with
 * its structured log lines captured so callers can wait for a run's final record.
 *
 * Spec: issue "Run a notebook …" (item 4: `npx functions-framework …` serves the built function).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { NbtError } from '../functions/errors.js';
import type { RunRecord } from '../functions/run/record.js';
import { freePort, PROJECT_ROOT } from './jupyter-server.js';

export interface FunctionServer {
  url: string;
  port: number;
  child: ChildProcess;
  /** Every JSON log line written so far. */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the final record of the run for `messageId`. */
  waitForRecord(messageId: string, timeoutMs?: number): Promise<RunRecord>;
  stop(): Promise<void>;
}

/** Path of functions-framework's CLI in this project. */
export const FF_MAIN = join(PROJECT_ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');

/** Starts the function on a free port with `env` added to this process's environment. */
export async function startFunctionServer(env: Record<string, string>, opts: { port?: number; echo?: (line: string) => void } = {}): Promise<FunctionServer> {
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [FF_MAIN, '--target=runNotebook', '--signature-type=cloudevent', `--port=${port}`, `--source=${PROJECT_ROOT}`], {
    cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      opts.echo?.(line);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch { /* not a structured line */ }
      for (const w of waiters) w();
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { stderr = (stderr + d).slice(-4000); });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new NbtError('CONFIG', `functions-framework exited: ${stderr.trim().slice(-500)}`);
    try {
      const res = await request(url, { method: 'GET', headersTimeout: 1000 });
      await res.body.dump();
      break;
    } catch {
      if (Date.now() > deadline) throw new NbtError('CONFIG', 'functions-framework did not start listening within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url, port, child, lines,
    waitForRecord(messageId, timeoutMs = 600_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.find((l) => typeof l.record === 'object' && (l.record as RunRecord).messageId === messageId);
          if (hit) { done(); resolve(hit.record as RunRecord); }
          else if (child.exitCode !== null) { done(); reject(new NbtError('SERVER_UNREACHABLE', 'the function process exited')); }
        };
        const timer = setTimeout(() => { done(); reject(new NbtError('TIMEOUT', `no run record for message ${messageId} within ${timeoutMs} ms`)); }, timeoutMs);
        const done = (): void => { clearTimeout(timer); waiters.delete(check); };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
