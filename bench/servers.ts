/**
 * The two Jupyter servers of the system comparison, started as the bench's own children:
 *
 * - `image`: notebook-image/start-server.sh run from this checkout exactly as the image runs it
 *   (its jupyter_server_config.py, so its kernel pool, prompt reaping and limits; the image's
 *   kernel config in IPYTHONDIR, where the image installs it in /etc/ipython);
 * - `stock`: `python3 -m jupyter_server` with no config at all (empty config, data, runtime and
 *   IPython dirs): the classic system's server.
 *
 * Each is timed from spawn until `GET /api` answers (polled every 5 ms, as Cloud Run's front end
 * holds the first request until the port answers), and stopped with its process group.
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { findPython, freePort, installKernelConfig } from '../cli/local/jupyter-server.js';
import { PROJECT_ROOT } from '../cli/project-root.js';
import type { BenchServer } from './contenders.js';
import { trackChild } from './contenders.js';
import { nowMs } from './stats.js';

export type ServerKind = 'image' | 'stock';

export interface SpawnedServer extends BenchServer {
  pid: number;
  /** ms from spawn until `GET /api` answered 200. */
  readyMs: number;
  /** The spawn instant (nowMs), for cold-path timings. */
  spawnedAt: number;
  stop(): Promise<void>;
}

export interface ServerOptions {
  root: string;
  token: string;
  /** NBTRIGGER_KERNEL_POOL for the image's server (unset: the image's default). */
  pool?: string;
}

export async function spawnServer(kind: ServerKind, opts: ServerOptions): Promise<SpawnedServer> {
  const home = await mkdtemp(join(tmpdir(), `nbtrigger-bench-${kind}-`));
  await mkdir(join(home, 'ipython', 'profile_default'), { recursive: true });
  if (kind === 'image') await installKernelConfig(join(home, 'ipython', 'profile_default'));
  const port = await freePort();
  const python = findPython();
  const rootUser = process.getuid?.() === 0 ? ['--allow-root'] : [];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? home,
    LANG: process.env.LANG ?? 'C.UTF-8',
    JUPYTER_TOKEN: opts.token,
    JUPYTER_CONFIG_DIR: join(home, 'config'),
    JUPYTER_DATA_DIR: join(home, 'data'),
    JUPYTER_RUNTIME_DIR: join(home, 'runtime'),
    IPYTHONDIR: join(home, 'ipython'),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  const [cmd, args] =
    kind === 'image'
      ? ['/bin/sh', [join(PROJECT_ROOT, 'notebook-image', 'start-server.sh'), ...rootUser]]
      : [
          python,
          [
            '-m',
            'jupyter_server',
            '--no-browser',
            ...rootUser,
            '--ServerApp.ip=127.0.0.1',
            `--ServerApp.port=${port}`,
            '--ServerApp.port_retries=0',
            `--ServerApp.root_dir=${opts.root}`,
          ],
        ];
  if (kind === 'image') {
    Object.assign(env, { PORT: String(port), JUPYTER_IP: '127.0.0.1', PYTHON: python, NBTRIGGER_ROOT_DIR: opts.root });
    if (opts.pool !== undefined) env.NBTRIGGER_KERNEL_POOL = opts.pool;
  }
  const spawnedAt = nowMs();
  const child = spawn(cmd as string, args as string[], {
    cwd: opts.root,
    env,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  trackChild(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const stop = async (): Promise<void> => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5000);
    await exited;
    clearTimeout(t);
    try {
      process.kill(-child.pid!, 'SIGKILL'); // anything left in the group
    } catch {
      /* gone */
    }
    await rm(home, { recursive: true, force: true });
  };
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    if (done) {
      await stop();
      throw new Error(`${kind} server exited: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (await answers(port)) break;
    if (nowMs() - spawnedAt > 60_000) {
      await stop();
      throw new Error(`${kind} server did not answer within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return { host: '127.0.0.1', port, token: opts.token, pid: child.pid!, readyMs: nowMs() - spawnedAt, spawnedAt, stop };
}

async function answers(port: number): Promise<boolean> {
  try {
    const res = await request(`http://127.0.0.1:${port}/api`, { headersTimeout: 2000, bodyTimeout: 2000 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}
