/**
 * Test fixture: waiting on events instead of elapsed time. A cell that "is running" says so by
 * writing a marker file (atomically, with the kernel's pid); a cell that must stay running until
 * the test has acted waits for a gate file; a kernel that must stay "starting" runs through a
 * gated kernelspec whose launcher waits for a gate before it execs ipykernel. The waits poll
 * a file or a process, with no limit of their own: the test's timeout bounds them, so a slow
 * machine only makes them slower, never wrong.
 * @module
 */
import diagnostics from 'node:diagnostics_channel';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findPython } from '../../cli/local/jupyter-server.js';

const POLL_MS = 20;

function pause(): Promise<void> {
  return new Promise((r) => setTimeout(r, POLL_MS));
}

/**
 * Python for a cell that writes `marker` (relative to the kernel's folder) with its pid, atomically,
 * and then runs `rest`.
 */
export function markerCell(marker: string, rest: string): string {
  const writePid = `with open("${marker}.tmp", "w") as f: f.write(str(os.getpid()))`;
  return `import os, time\n${writePid}\nos.rename("${marker}.tmp", "${marker}")\n${rest}`;
}

/** Python for a cell that writes `marker`, then waits until the file `gate` exists. */
export function gatedCell(marker: string, gate: string): string {
  return markerCell(marker, `while not os.path.exists("${gate}"): time.sleep(0.02)`);
}

/** Waits until `path` exists and is not empty; resolves with its text (undefined if `stop` aborts first). */
export async function waitForFile(path: string, stop?: AbortSignal): Promise<string | undefined> {
  for (;;) {
    if (stop?.aborted) return undefined;
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text !== '') return text;
    await pause();
  }
}

/** Waits until the pid in the marker file `path` appears; 0 when `stop` aborts first. */
export async function waitForPid(path: string, stop?: AbortSignal): Promise<number> {
  const text = await waitForFile(path, stop);
  return text === undefined ? 0 : Number(text);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the process `pid` is gone (the test's timeout bounds the wait). */
export async function processGone(pid: number): Promise<void> {
  while (alive(pid)) await pause();
}

/** Waits until `check` answers true (the test's timeout bounds the wait). */
export async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await pause();
}

/** A kernelspec whose launcher holds the kernel in the "starting" phase until the test opens its gate. */
export interface GatedKernel {
  /** A `JUPYTER_PATH` entry holding the kernelspec (the server finds kernelspecs under `kernels/`). */
  jupyterPath: string;
  /** The kernelspec's name. */
  name: string;
  /** Resolves with the pid of the n-th launched kernel process (1-based), once it is launched and waiting. */
  launched(n?: number): Promise<number>;
  /** Lets every waiting and future launch of this kernelspec go on to ipykernel. */
  open(): Promise<void>;
}

/**
 * Writes a kernelspec `gated` under `dir`: each launch writes `launched.N` in `dir` (N counting
 * from 1) with its pid, waits for `go`, then execs the same ipykernel as the server's python3.
 */
export async function gatedKernel(dir: string): Promise<GatedKernel> {
  const spec = join(dir, 'kernels', 'gated');
  await mkdir(spec, { recursive: true });
  const gate = join(dir, 'go');
  const launcher = join(spec, 'launch.sh');
  await writeFile(
    launcher,
    [
      '#!/bin/sh',
      `cd "${dir}" || exit 1`,
      // noclobber: each launch claims the first free number.
      'n=1; while ! (set -C; : > "launched.$n") 2>/dev/null; do n=$((n+1)); done',
      'echo $$ > "launched.$n"',
      `while [ ! -e "${gate}" ]; do sleep 0.02; done`,
      `cd - >/dev/null || exit 1`,
      `exec "${findPython()}" -m ipykernel_launcher -f "$1"`,
      '',
    ].join('\n'),
  );
  await chmod(launcher, 0o755);
  await writeFile(
    join(spec, 'kernel.json'),
    JSON.stringify({
      argv: ['/bin/sh', launcher, '{connection_file}'],
      display_name: 'Python 3 (gated start)',
      language: 'python',
    }),
  );
  return {
    jupyterPath: dir,
    name: 'gated',
    launched: (n = 1) => waitForPid(join(dir, `launched.${n}`)),
    open: () => writeFile(gate, 'go'),
  };
}

/** A progress callback for the runner, and a promise settled once the runner has seen cell `index` start. */
export function cellStart(index: number): {
  onProgress: (e: { type: string; cellIndex: number }) => void;
  started: Promise<void>;
} {
  let seen!: () => void;
  const started = new Promise<void>((r) => {
    seen = r;
  });
  return {
    onProgress: (e) => {
      if (e.type === 'start' && e.cellIndex === index) seen();
    },
    started,
  };
}

/**
 * Resolves when this process starts an HTTP request whose path matches `pattern` (Node's
 * `http.client.request.start` diagnostics channel): e.g. the runner's kernel-channel upgrade, so a
 * test can act while the handshake is under way.
 */
export function httpRequestStarted(pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    const onStart = (message: unknown): void => {
      const path = (message as { request?: { path?: string } }).request?.path ?? '';
      if (!pattern.test(path)) return;
      diagnostics.unsubscribe('http.client.request.start', onStart);
      resolve();
    };
    diagnostics.subscribe('http.client.request.start', onStart);
  });
}

/**
 * A run deadline meant to land while a given cell runs. The deadline counts from the run's start,
 * kernel start included, so on a loaded machine it can pass before that cell starts: then the
 * attempt is repeated with twice the deadline, until it lands where meant. Every attempt goes
 * through `check` (whatever phase it landed in, it must be a well-classified timeout); the result
 * is the attempt that landed in the cell. `maxMs` bounds the deadline, so a machine where the
 * kernel never starts fails (with what each attempt saw) instead of hanging.
 */
export async function deadlineInCell<R>(
  firstMs: number,
  maxMs: number,
  attempt: (deadlineMs: number) => Promise<R>,
  landed: (r: R) => boolean,
  check: (r: R) => void | Promise<void>,
): Promise<R & { deadlineMs: number }> {
  const seen: string[] = [];
  for (let ms = firstMs; ms <= maxMs; ms *= 2) {
    const r = await attempt(ms);
    await check(r);
    if (landed(r)) return { ...r, deadlineMs: ms };
    seen.push(`${ms} ms: ${JSON.stringify((r as { record?: { error?: unknown } }).record?.error ?? r)}`);
  }
  throw new Error(
    `no run deadline up to ${maxMs} ms landed in the cell (the kernel never started in time):\n${seen.join('\n')}`,
  );
}
