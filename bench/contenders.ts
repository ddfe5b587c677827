/**
 * The contenders, each a function that runs one notebook once and returns named wall times
 * in ms (the first key is the contender's headline figure):
 *
 * - `nbtrigger` — `node bin/nbtrigger.js run --json --server HOST:PORT /nb.ipynb` as a child
 *   process (JUPYTER_TOKEN in its env), timed from spawn to exit; the run record's
 *   `durationMs` is kept too. It ends when the cells are done (the kernel is deleted while the
 *   CLI writes its outputs), so wall − durationMs (`node start + load`) = Node start + module
 *   load + outputs + what remains of the kernel's deletion;
 * - `nbtrigger in-process` — `runNotebook()` called in this process: the runner's own wall time;
 * - `jupyter-execute` — Debian's nbclient (`/usr/bin/jupyter-execute NB`), which starts its own
 *   kernel with no server, as nbtrigger's server starts one per run;
 * - `node start` — `node -e 0`, the floor under any CLI run;
 * - `python start + import nbclient` — the floor under jupyter-execute before its kernel starts.
 *
 * Every run's result is checked (status and last result), so a broken run is reported,
 * never timed as a fast one. Children run in their own process group and are killed with
 * it on timeout.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runNotebook } from '../functions/run/runner.js';
import { PROJECT_ROOT } from '../cli/project-root.js';
import type { BenchNotebook } from './notebooks.js';
import { childrenCpuSeconds } from './proc-cpu.js';
import { nowMs } from './stats.js';

export interface BenchServer {
  host: string;
  port: number;
  token: string;
}

export interface ChildResult {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** The child's CPU seconds (user + system), NaN where /proc is missing. */
  cpu: number;
}

/** Children still running (killed by {@link killChildren} on the way out). */
const running = new Set<number>();

let stopped = false;

/** Kills the process groups of children still running and refuses new ones (bench ending). */
export function killChildren(): void {
  stopped = true;
  for (const pid of running) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  running.clear();
}

/** Registers a detached child started elsewhere, so {@link killChildren} stops it too. */
export function trackChild(child: ChildProcess): void {
  if (stopped) {
    child.kill('SIGKILL');
    throw new Error('bench is stopping');
  }
  if (child.pid === undefined) return;
  const pid = child.pid;
  running.add(pid);
  child.once('exit', () => running.delete(pid));
}

/** `cpus`: the child is held to these CPUs (`taskset -c`). */
export type ChildOptions = { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; cpus?: string };

/** Runs a command in its own process group; times it from spawn to exit. */
export function timeChild(cmd: string, args: string[], opts: ChildOptions = {}): Promise<ChildResult> {
  if (opts.cpus !== undefined) [cmd, args] = ['taskset', ['-c', opts.cpus, cmd, ...args]];
  return new Promise((resolve, reject) => {
    if (stopped) return reject(new Error('bench is stopping'));
    const cpu0 = childrenCpuSeconds();
    const t0 = nowMs();
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) running.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, opts.timeoutMs ?? 120_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      const ms = nowMs() - t0;
      clearTimeout(timer);
      if (child.pid !== undefined) running.delete(child.pid);
      resolve({ ms, code: signal ? null : code, stdout, stderr, cpu: childrenCpuSeconds() - cpu0 });
    });
  });
}

function failure(what: string, r: ChildResult): Error {
  const tail = r.stderr.trim().split('\n').slice(-5).join(' | ');
  return new Error(`${what} exited ${r.code ?? 'by signal'}: ${tail || r.stdout.slice(0, 300) || '(no output)'}`);
}

interface RecordLike {
  status?: string;
  durationMs?: number;
  lastResult?: Record<string, unknown>;
  error?: { code?: string; message?: string };
}

function checkRecord(rec: RecordLike, nb: BenchNotebook, what: string): void {
  if (rec.status !== 'succeeded')
    throw new Error(`${what}: status ${rec.status} (${rec.error?.code}: ${rec.error?.message})`);
  const last = rec.lastResult?.['text/plain'];
  if (last !== nb.expectedLast)
    throw new Error(`${what}: last result ${JSON.stringify(last)}, expected ${nb.expectedLast}`);
}

/**
 * `nbtrigger run --json --server …` as a child process (from `opts.root`, default this checkout;
 * `opts.tag` suffixes the names).
 */
export function nbtriggerCli(
  server: BenchServer,
  nb: BenchNotebook,
  opts: { sequential?: boolean; root?: string; tag?: string; node?: string } & Pick<ChildOptions, 'env' | 'cpus'> = {},
): () => Promise<Record<string, number>> {
  const name = `nbtrigger${opts.sequential ? ' --sequential' : ''}${opts.tag ?? ''} (${nb.label})`;
  const bin = join(opts.root ?? PROJECT_ROOT, 'bin', 'nbtrigger.js');
  const args = [
    bin,
    'run',
    '--json',
    '--server',
    `${server.host}:${server.port}`,
    ...(opts.sequential ? ['--sequential'] : []),
    nb.serverPath,
  ];
  const env = { ...process.env, ...opts.env, JUPYTER_TOKEN: server.token };
  const cwd = opts.root ?? PROJECT_ROOT;
  return async () => {
    const r = await timeChild(opts.node ?? process.execPath, args, { env, cwd, cpus: opts.cpus });
    if (r.code !== 0) throw failure(name, r);
    const rec = JSON.parse(r.stdout) as RecordLike;
    checkRecord(rec, nb, name);
    return {
      [name]: r.ms,
      [`${name} CPU s`]: r.cpu,
      [`${name} record durationMs`]: rec.durationMs ?? NaN,
      [`${name} node start + load`]: r.ms - (rec.durationMs ?? NaN),
    };
  };
}

export interface InProcessOptions {
  sequential?: boolean;
  /** Keep a reset kernel for the next run (docs/benchmarks.md). */
  warm?: boolean;
  /** Another build's `runNotebook` (before/after runs); default this checkout's. */
  run?: typeof runNotebook;
  tag?: string;
  /** Metric name prefix (default `nbtrigger in-process`). */
  prefix?: string;
}

/**
 * `runNotebook()` in this process (no Node start, modules already loaded), timed until the kernel
 * is deleted (or kept, warm): the record is ready earlier (`… to record`), as the CLI and the
 * function write outputs meanwhile (deferCleanup).
 */
export function nbtriggerInProcess(
  server: BenchServer,
  nb: BenchNotebook,
  opts: InProcessOptions = {},
): () => Promise<Record<string, number>> {
  const modes = `${opts.sequential ? ' --sequential' : ''}${opts.warm ? ' warm kernel' : ''}`;
  const name = `${opts.prefix ?? 'nbtrigger in-process'}${modes}${opts.tag ?? ''} (${nb.label})`;
  const run = opts.run ?? runNotebook;
  return async () => {
    const t0 = nowMs();
    const outcome = await run({
      request: {
        server: { host: server.host, port: server.port, secure: false },
        notebook: nb.serverPath.replace(/^\/+/, ''),
        verbose: false,
        timeouts: { runSeconds: 120 },
        ...(opts.sequential ? { sequential: true } : {}),
      },
      token: server.token,
      deferCleanup: true,
      ...(opts.warm ? { warmKernel: true } : {}),
    });
    const toRecord = nowMs() - t0;
    await outcome.cleanup;
    const ms = nowMs() - t0;
    checkRecord(outcome.record, nb, name);
    return { [name]: ms, [`${name} to record`]: toRecord };
  };
}

/** Where Debian's nbclient command lives (`jupyter-execute`), or undefined. */
export function findJupyterExecute(): string | undefined {
  return ['/usr/bin/jupyter-execute', '/usr/local/bin/jupyter-execute'].find((p) => existsSync(p));
}

/** nbclient's `jupyter-execute NB` (its own kernel, no server), in an isolated Jupyter home. */
export function jupyterExecute(cmd: string, home: string, nb: BenchNotebook): () => Promise<Record<string, number>> {
  const name = `jupyter-execute (${nb.label})`;
  const env = {
    ...process.env,
    JUPYTER_CONFIG_DIR: join(home, 'config'),
    JUPYTER_DATA_DIR: join(home, 'data'),
    JUPYTER_RUNTIME_DIR: join(home, 'runtime'),
    IPYTHONDIR: join(home, 'ipython'),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    JUPYTER_PLATFORM_DIRS: '1',
  };
  return async () => {
    const r = await timeChild(cmd, [nb.file], { env, cwd: dirname(nb.file) });
    if (r.code !== 0) throw failure(name, r);
    return { [name]: r.ms };
  };
}

/** A Python that can run `-m nbconvert` (Debian's python3-nbconvert comes with Jupyter Server), if any. */
export function findNbconvertPython(): string | undefined {
  const python = ['/usr/bin/python3'].find((p) => existsSync(p));
  return python && existsSync('/usr/lib/python3/dist-packages/nbconvert') ? python : undefined;
}

/** `jupyter nbconvert --to notebook --execute NB` (as `python3 -m nbconvert`), in an isolated Jupyter home. */
export function nbconvertExecute(
  python: string,
  home: string,
  nb: BenchNotebook,
): () => Promise<Record<string, number>> {
  const name = `nbconvert --execute (${nb.label})`;
  const env = {
    ...process.env,
    JUPYTER_CONFIG_DIR: join(home, 'config'),
    JUPYTER_DATA_DIR: join(home, 'data'),
    JUPYTER_RUNTIME_DIR: join(home, 'runtime'),
    IPYTHONDIR: join(home, 'ipython'),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    JUPYTER_PLATFORM_DIRS: '1',
  };
  const out = `nbconvert-out-${nb.cells}`;
  return async () => {
    const r = await timeChild(python, ['-m', 'nbconvert', '--to', 'notebook', '--execute', '--output', out, nb.file], {
      env,
      cwd: dirname(nb.file),
    });
    if (r.code !== 0) throw failure(name, r);
    return { [name]: r.ms };
  };
}

/** `node -e 0`: Node's own start, the floor under any CLI. */
export function nodeStart(): () => Promise<Record<string, number>> {
  return async () => {
    const r = await timeChild(process.execPath, ['-e', '0']);
    if (r.code !== 0) throw failure('node -e 0', r);
    return { 'node start (node -e 0)': r.ms };
  };
}

/** `python3 -c "import nbclient, jupyter_client"`: what jupyter-execute pays before its kernel starts. */
export function pythonImportNbclient(): () => Promise<Record<string, number>> {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  return async () => {
    const r = await timeChild(python, ['-c', 'import nbclient, jupyter_client']);
    if (r.code !== 0) throw failure('python3 -c "import nbclient"', r);
    return { 'python start + import nbclient': r.ms };
  };
}
