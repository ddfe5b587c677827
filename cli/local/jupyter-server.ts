/**
 * A private local Jupyter Server as a child process: random free port, random token, isolated
 * config/data/runtime dirs, the iopub rate limit raised. Used by `nbtrigger run` without
 * `--server`, by `nbtrigger local`, by the tests and by the benchmarks. `stop()` ends the
 * server and every kernel it started (SIGTERM, then SIGKILL of the process group).
 *
 * Spec: docs/testing.md (start command, readiness probe).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { NbtError } from '../../functions/errors.js';
import type { ServerAddress } from '../../functions/request/address.js';
import { tailRedacted } from '../../functions/redact.js';
import { PROJECT_ROOT } from '../project-root.js';

export interface LocalJupyter {
  address: ServerAddress;
  token: string;
  rootDir: string;
  /** The server's process (its own process group). */
  child: ChildProcess;
  /** Stops the server and its kernels; safe to call twice. */
  stop(): Promise<void>;
  /** The last `logTailChars` of the server's log (stderr), its token redacted: what a failure report shows. */
  logTail(): string;
}

export interface StartOptions {
  rootDir: string;
  token?: string;
  port?: number;
  python?: string;
  startTimeoutMs?: number;
  /** Extra `--Flag=value` arguments. */
  args?: string[];
  /** Extra environment for the server (e.g. NBTRIGGER_KERNEL_POOL). */
  env?: Record<string, string>;
  /** How much of the server's log is kept for `logTail` (default 4000 characters). */
  logTailChars?: number;
}

/** Kernel settings shared with the notebook image. */
export const KERNEL_CONFIG = join(PROJECT_ROOT, 'notebook-image', 'ipython_kernel_config.py');
/** The kernel patches the config loads from beside itself (notebook-image/nbtrigger_kernel_patches.py). */
const KERNEL_PATCHES = join(PROJECT_ROOT, 'notebook-image', 'nbtrigger_kernel_patches.py');

/**
 * Puts the image's kernel settings in an IPython profile folder (`IPYTHONDIR/profile_default`), as
 * the image puts them in /etc/ipython: the config and, beside it, the patches it loads.
 */
export async function installKernelConfig(profileDir: string): Promise<void> {
  await mkdir(profileDir, { recursive: true });
  await copyFile(KERNEL_CONFIG, join(profileDir, 'ipython_kernel_config.py'));
  await copyFile(KERNEL_PATCHES, join(profileDir, 'nbtrigger_kernel_patches.py'));
}
/** Server-side kernel handling shared with the image's server config (a prompt kernel DELETE). */
const SERVER_KERNELS_CONFIG = join(PROJECT_ROOT, 'notebook-image', 'jupyter_server_kernels.py');
/** The pool of pre-started kernels, shared with the image's server config (off unless NBTRIGGER_KERNEL_POOL asks). */
const KERNEL_POOL_CONFIG = join(PROJECT_ROOT, 'notebook-image', 'jupyter_kernel_pool.py');

/**
 * The private local server's config file: the token from the environment (popped at once, so no
 * kernel inherits it), the image's kernel handling (jupyter_server_kernels.py) and its kernel pool
 * (jupyter_kernel_pool.py), off unless the server's environment sets NBTRIGGER_KERNEL_POOL.
 */
export function localServerConfig(): string {
  // JSON string literals are Python string literals.
  const path = JSON.stringify(SERVER_KERNELS_CONFIG);
  const pool = JSON.stringify(KERNEL_POOL_CONFIG);
  return (
    'import os\nc.ServerApp.token = os.environ.pop("JUPYTER_TOKEN", "")\n' +
    `with open(${path}, encoding="utf-8") as f:\n` +
    `    exec(compile(f.read(), ${path}, "exec"), {"__name__": "nbtrigger_server_kernels"})\n` +
    // `__file__`: the pool loads its parts from its own folder.
    `pool = {"__name__": "nbtrigger_kernel_pool", "__file__": ${pool}}\n` +
    `with open(${pool}, encoding="utf-8") as f:\n` +
    `    exec(compile(f.read(), ${pool}, "exec"), pool)\n` +
    'pool["install"](c, os.environ)\n'
  );
}

/** The Python that has jupyter_server: `NBTRIGGER_PYTHON`, the project's `.venv`, else Debian's `/usr/bin/python3`. */
export function findPython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NBTRIGGER_PYTHON) return env.NBTRIGGER_PYTHON;
  const venv = join(PROJECT_ROOT, '.venv', 'bin', 'python');
  if (existsSync(venv)) return venv;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) killGroup(c, 'SIGKILL');
});

/**
 * Runs `start` on `port` when given, else on a free port. A free port is only free when it is picked:
 * when `taken(error)` says another process bound it first, another is picked, up to `attempts` starts
 * in all; any other error, and the last, is thrown as it is.
 */
export async function onFreePort<T>(
  port: number | undefined,
  start: (port: number) => Promise<T>,
  taken: (e: unknown) => boolean,
  attempts: number,
  pick: () => Promise<number> = freePort,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(port ?? (await pick()));
    } catch (e) {
      if (port !== undefined || attempt >= attempts || !taken(e)) throw e;
    }
  }
}

/** Starts a server and waits until it answers `GET /api/kernels` with the token. */
export function startLocalJupyter(opts: StartOptions): Promise<LocalJupyter> {
  const taken = (e: unknown): boolean => e instanceof NbtError && /in use|Address already/i.test(e.message);
  return onFreePort(opts.port, (port) => startOnce(opts, port), taken, 3);
}

async function startOnce(opts: StartOptions, port: number): Promise<LocalJupyter> {
  const token = opts.token ?? randomBytes(24).toString('hex');
  const rootDir = resolve(opts.rootDir);
  const home = await mkdtemp(join(tmpdir(), 'nbtrigger-jupyter-'));
  // The same kernel settings as the notebook image (pipelined error window, in-memory history).
  await installKernelConfig(join(home, 'ipython', 'profile_default'));
  // The token reaches the server by environment (never argv, which `ps` shows) and leaves it at once:
  // kernels inherit the server's environment, and no notebook may print the token into its outputs.
  await mkdir(join(home, 'config'), { recursive: true });
  await writeFile(join(home, 'config', 'jupyter_server_config.py'), localServerConfig(), { mode: 0o600 });
  const python = opts.python ?? findPython();
  // Defaults that `opts.args` may override (traitlets refuses an option given twice).
  const given = new Set((opts.args ?? []).map((a) => a.split('=')[0]));
  // Kernels reach the server over Unix sockets in its runtime folder, not TCP ports: jupyter_client
  // picks a kernel's five ports by binding port 0 and letting go, and a port taken again before the
  // kernel binds it (by another start, or any outgoing connection) leaves a kernel that never
  // answers. Concurrent starts on one machine meet that race; an ipc socket is named per kernel.
  const defaults = [
    '--ServerApp.iopub_data_rate_limit=1e10',
    '--ServerApp.iopub_msg_rate_limit=1e10',
    '--KernelManager.transport=ipc',
  ].filter((a) => !given.has(a.split('=')[0]));
  const args = [
    '-m',
    'jupyter_server',
    '--allow-root',
    '--no-browser',
    '--ServerApp.ip=127.0.0.1',
    `--port=${port}`,
    '--port-retries=0',
    `--ServerApp.root_dir=${rootDir}`,
    '--ServerApp.open_browser=False',
    ...defaults,
    ...(opts.args ?? []),
  ];
  const child = spawn(python, args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      ...opts.env,
      // The token travels by environment, never on a command line other users could read.
      JUPYTER_TOKEN: token,
      JUPYTER_CONFIG_DIR: join(home, 'config'),
      JUPYTER_DATA_DIR: join(home, 'data'),
      JUPYTER_RUNTIME_DIR: join(home, 'runtime'),
      IPYTHONDIR: join(home, 'ipython'),
      PYDEVD_DISABLE_FILE_VALIDATION: '1',
    },
  });
  live.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    // The server prints its URL with the token: redacted before the tail is cut (redact.ts).
    stderr = tailRedacted(stderr + d, opts.logTailChars ?? 4000, [token], '');
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  child.once('error', () => undefined);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(child, 'SIGTERM');
        const t = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      killGroup(child, 'SIGKILL'); // kernels left in the group, if any
      live.delete(child);
      await rm(home, { recursive: true, force: true });
    })());
  const address: ServerAddress = { host: '127.0.0.1', port, secure: false };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  const spawnError = new Promise<never>((_, rej) =>
    child.once('error', (e) => rej(new NbtError('CONFIG', `cannot start ${python}: ${e.message}`))),
  );
  try {
    for (;;) {
      const code = await Promise.race([exited.then((c) => ({ c })), spawnError, delay(60).then(() => undefined)]);
      if (code)
        throw new NbtError('SERVER_UNREACHABLE', `local Jupyter server exited (code ${code.c}): ${lastLines(stderr)}`);
      if (await answers(port, token)) break;
      if (Date.now() > deadline)
        throw new NbtError(
          'SERVER_UNREACHABLE',
          `local Jupyter server did not answer within ${opts.startTimeoutMs ?? 60000} ms: ${lastLines(stderr)}`,
        );
    }
  } catch (e) {
    await stop();
    throw e;
  }
  // Keep draining stderr so the child never blocks on a full pipe.
  return { address, token, rootDir, child, stop, logTail: () => stderr };
}

async function answers(port: number, token: string): Promise<boolean> {
  try {
    const res = await request(`http://127.0.0.1:${port}/api/kernels`, {
      headers: { authorization: `token ${token}` },
      headersTimeout: 2000,
      bodyTimeout: 2000,
    });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* gone */
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function lastLines(s: string): string {
  const lines = s
    .trim()
    .split('\n')
    .filter((l) => !/^\s*$/.test(l));
  return lines.slice(-6).join(' | ') || '(no output)';
}
