/**
 * Test fixture: the notebook image's start command for real (not Docker), notebook-image/start-server.sh
 * with its jupyter_server_config.py and server_main.py, run against this machine's Jupyter Server with
 * PORT and JUPYTER_TOKEN set, JUPYTER_IP on loopback and every Jupyter folder private to the run.
 * Spec: docs/deploy.md (Image and build); notebook-image/README.md.
 * @module
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { findPython, freePort, installKernelConfig } from '../../cli/local/jupyter-server.js';
import { PROJECT_ROOT } from '../../cli/project-root.js';
import { liveKernels } from './kernel-exec.js';

const SCRIPT = join(PROJECT_ROOT, 'notebook-image', 'start-server.sh');

export interface Started {
  port: number;
  pid: number;
  output: () => string;
  stop: () => Promise<number | null>;
  exited: Promise<number | null>;
}

/** A hang bound: on a loaded machine the server (and its pooled kernel) can take tens of seconds to start. */
export const HANG_MS = 120_000;

/** Starts start-server.sh; `ipythonConfig` puts the image's kernel config in the kernels' IPython config folder. */
export async function startImageServer(
  env: Record<string, string>,
  opts: { ipythonConfig?: boolean } = {},
): Promise<Started> {
  const home = await mkdtemp(join(tmpdir(), 'nbtrigger-image-check-'));
  if (opts.ipythonConfig) {
    await installKernelConfig(join(home, 'i', 'profile_default'));
  }
  const port = await freePort();
  // Root in these test machines: jupyter refuses root unless told (the image runs as uid 1000).
  const extra = process.getuid?.() === 0 ? ['--allow-root'] : [];
  const child = spawn('/bin/sh', [SCRIPT, ...extra], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      PORT: String(port),
      JUPYTER_IP: '127.0.0.1',
      PYTHON: findPython(),
      NBTRIGGER_ROOT_DIR: PROJECT_ROOT,
      JUPYTER_CONFIG_DIR: join(home, 'c'),
      JUPYTER_DATA_DIR: join(home, 'd'),
      JUPYTER_RUNTIME_DIR: join(home, 'r'),
      IPYTHONDIR: join(home, 'i'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    const code = await exited;
    await rm(home, { recursive: true, force: true });
    return code;
  };
  return { port, pid: child.pid!, output: () => out, stop, exited };
}

export async function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headers, headersTimeout: 3000 });
  return { status: res.statusCode, body: await res.body.text() };
}

export async function waitForApi(s: Started, ms = HANG_MS): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if ((await get(s.port, '/api')).status === 200) return;
    } catch {
      /* not yet */
    }
    const gone = await Promise.race([
      s.exited.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 100)),
    ]);
    if (gone) throw new Error(`server exited: ${s.output()}`);
    if (Date.now() > deadline) throw new Error(`no answer on /api within ${ms} ms: ${s.output()}`);
  }
}

/**
 * The live ipykernel processes a server started, whatever their parent now: those whose environment
 * names `pid` as JPY_PARENT_PID (a kernel outlives its server until its parent poller notices).
 */
export function kernelsStartedBy(pid: number): number[] {
  return liveKernels()
    .map((k) => k.pid)
    .filter((k) => {
      try {
        return readFileSync(`/proc/${k}/environ`, 'utf8').split('\0').includes(`JPY_PARENT_PID=${pid}`);
      } catch {
        return false; // gone meanwhile
      }
    });
}
