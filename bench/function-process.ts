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
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../cli/project-root.js';
import { request } from 'undici';
import { startFunctionServer } from '../cli/local/function-server.js';
import { structuredEvent } from '../test/helpers/functions-framework.js';
import { trackChild } from './contenders.js';
import type { BenchServer } from './contenders.js';
import { nowMs } from './stats.js';

export interface FunctionProcess {
  pid: number;
  /** ms from spawn until the port accepted a connection. */
  listenMs: number;
  /**
   * Sends one event for `notebook` (server path; on `target`, default the server it started with);
   * resolves with its wall time, ms. Throws on a non-204.
   */
  event(notebook: string, target?: BenchServer): Promise<number>;
  /** Where its run records go (NBTRIGGER_RUNS_DIR). */
  runsDir: string;
  /** Resident set now and its peak so far, MB. */
  memory(): { rssMb: number; peakMb: number };
  /** Resets the peak to the resident set now (`/proc/PID/clear_refs`); false where that is refused. */
  resetPeak(): boolean;
  /** Sends one JSON-form message; resolves with its wall time, ms. Throws on a non-204. */
  eventJson(message: Record<string, unknown>): Promise<number>;
  /**
   * The longest event-loop stall (and p99), ms, since the last call (loop-stall-probe.ts, loaded
   * when the process was started with `stallProbe`); undefined without the probe.
   */
  loopStall(): Promise<{ maxMs: number; p99Ms: number } | undefined>;
  stop(): Promise<void>;
}

/** Starts functions-framework from `root` (its package.json `main` is the function) against `server`. */
export async function startFunctionProcess(
  root: string,
  server: BenchServer,
  env: Record<string, string> = {},
  opts: { stallProbe?: boolean } = {},
): Promise<FunctionProcess> {
  const runs = await mkdtemp(join(tmpdir(), 'nbtrigger-bench-ff-'));
  const stallFile = join(runs, 'loop-stall.json');
  const probe = opts.stallProbe
    ? {
        NODE_OPTIONS: `--import=${pathToFileURL(join(PROJECT_ROOT, 'dist/bench/loop-stall-probe.js')).href}`,
        NBTRIGGER_BENCH_STALL_FILE: stallFile,
      }
    : {};
  const fn = await startFunctionServer({
    root,
    detached: true,
    startTimeoutMs: 30_000,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      JUPYTER_TOKEN: server.token,
      ALLOWED_SERVERS: '127.0.0.1:*',
      NBTRIGGER_RUNS_DIR: runs,
      METADATA_SERVER_DETECTION: 'none',
      GCE_METADATA_HOST: '127.0.0.1:9',
      GCE_METADATA_IP: '127.0.0.1:9',
      ...probe,
      ...env,
    },
  }).catch(async (e: unknown) => {
    await rm(runs, { recursive: true, force: true });
    throw e;
  });
  trackChild(fn.child);
  const pid = fn.child.pid!;
  return {
    pid,
    listenMs: fn.listenMs,
    runsDir: runs,
    event: (notebook, target = server) => send(structuredEvent({ text: `${target.host}:${target.port} ${notebook}` })),
    eventJson: (message) => send(structuredEvent({ text: JSON.stringify(message) })),
    async loopStall() {
      if (!opts.stallProbe) return undefined;
      await rm(stallFile, { force: true });
      process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < 200; i++) {
        const text = await readFile(stallFile, 'utf8').catch(() => undefined);
        if (text) return JSON.parse(text) as { maxMs: number; p99Ms: number };
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the loop-stall probe did not answer within 2 s');
    },
    memory: () => procMemory(pid),
    resetPeak: () => resetPeak(pid),
    async stop() {
      await fn.stop();
      await rm(runs, { recursive: true, force: true });
    },
  };

  async function send(ev: { headers: Record<string, string>; body: string }): Promise<number> {
    const t = nowMs();
    const res = await request(`${fn.url}/`, {
      method: 'POST',
      headers: ev.headers,
      body: ev.body,
      headersTimeout: 300_000,
      bodyTimeout: 300_000,
    });
    const body = await res.body.text();
    const ms = nowMs() - t;
    if (res.statusCode !== 204)
      throw new Error(`function answered ${res.statusCode}: ${body.slice(0, 300)} ${fn.stderr().slice(-300)}`);
    return ms;
  }
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
