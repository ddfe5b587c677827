/**
 * The function as it runs in production: functions-framework's own CLI serving the built
 * `runNotebook` (from a project root: this one, or a baseline checkout for before/after runs),
 * started as a child process and driven with Pub/Sub CloudEvents over HTTP. Used by the
 * function-start and concurrency benchmarks.
 *
 * Memory is read from `/proc/PID/status`: `VmRSS` (now) and `VmHWM` (the peak so far, which
 * `resetPeak` brings back to now before a measured run).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { freePort } from '../cli/jupyter-server.js';
import { structuredEvent } from '../test/helpers/functions-framework.js';
import { trackChild } from './contenders.js';
import type { BenchServer } from './contenders.js';
import { nowMs } from './stats.js';

export interface FunctionProcess {
  pid: number;
  /** ms from spawn until the port accepted a connection. */
  listenMs: number;
  /** Sends one event for `notebook` (server path); resolves with its wall time, ms. Throws on a non-204. */
  event(notebook: string): Promise<number>;
  /** Resident set now and its peak so far, MB. */
  memory(): { rssMb: number; peakMb: number };
  /** Resets the peak to the resident set now (`/proc/PID/clear_refs`); false where that is refused. */
  resetPeak(): boolean;
  stop(): Promise<void>;
}

/** Starts functions-framework from `root` (its package.json `main` is the function) against `server`. */
export async function startFunctionProcess(root: string, server: BenchServer, env: Record<string, string> = {}): Promise<FunctionProcess> {
  const port = await freePort();
  const runs = await mkdtemp(join(tmpdir(), 'nbtrigger-bench-ff-'));
  const main = join(root, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
  const t0 = nowMs();
  const child: ChildProcess = spawn(process.execPath, [main, '--target=runNotebook', '--signature-type=cloudevent', `--port=${port}`], {
    cwd: root, detached: true, stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', JUPYTER_TOKEN: server.token, ALLOWED_SERVERS: '127.0.0.1:*',
      NBTRIGGER_RUNS_DIR: runs, METADATA_SERVER_DETECTION: 'none', GCE_METADATA_HOST: '127.0.0.1:9', GCE_METADATA_IP: '127.0.0.1:9', ...env,
    },
  });
  trackChild(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await rm(runs, { recursive: true, force: true });
  };
  for (;;) {
    if (child.exitCode !== null) throw new Error(`functions-framework exited: ${stderr.slice(-500)}`);
    if (await canConnect(port)) break;
    if (nowMs() - t0 > 30_000) {
      await stop();
      throw new Error('functions-framework did not listen within 30 s');
    }
    await sleep(5);
  }
  const listenMs = nowMs() - t0;
  const url = `http://127.0.0.1:${port}/`;
  return {
    pid: child.pid!,
    listenMs,
    async event(notebook) {
      const ev = structuredEvent({ text: `${server.host}:${server.port} ${notebook}` });
      const t = nowMs();
      const res = await request(url, { method: 'POST', headers: ev.headers, body: ev.body, headersTimeout: 300_000, bodyTimeout: 300_000 });
      const body = await res.body.text();
      const ms = nowMs() - t;
      if (res.statusCode !== 204) throw new Error(`function answered ${res.statusCode}: ${body.slice(0, 300)} ${stderr.slice(-300)}`);
      return ms;
    },
    memory: () => procMemory(child.pid!),
    resetPeak: () => resetPeak(child.pid!),
    stop,
  };
}

/** `VmRSS` and `VmHWM` of a process, MB (NaN when unreadable, e.g. not Linux). */
export function procMemory(pid: number): { rssMb: number; peakMb: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return { rssMb: NaN, peakMb: NaN };
  }
}

/**
 * Resets `VmHWM` to the current `VmRSS` (proc(5), `clear_refs` value 5), so the next peak read is
 * the peak since now, not the process's peak ever.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.end();
      res(true);
    });
    s.once('error', () => res(false));
  });
}
