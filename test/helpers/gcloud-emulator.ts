/**
 * One Google Cloud emulator (`gcloud … emulators … start`) as a test fixture: its own process group
 * and CLOUDSDK_CONFIG, a free port (retried on a clash), readiness by polling `GET /` until it
 * answers `Ok`, and a stop that ends the whole group (gcloud starts a shell, Python and Java).
 * Also the skip-or-fail rule for tests that need an emulator: skip with a visible notice, except
 * under CI=true, where a missing emulator fails the test.
 * @module
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { freePort } from '../../cli/local/jupyter-server.js';

/** Looks up an executable on PATH. */
export function which(cmd: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const full = join(dir, cmd);
    try {
      accessSync(full, constants.X_OK);
      return full;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Why an emulator component cannot run here (gcloud, java, the SDK component), or undefined. */
export function gcloudComponentMissing(component: string, label: string): string | undefined {
  const gcloud = which('gcloud');
  if (!gcloud) return `gcloud is not on PATH (install the Google Cloud SDK with the ${component} component)`;
  if (!which('java')) return `java is not on PATH (the ${label} emulator needs Java)`;
  // Installed SDK layout: <root>/bin/gcloud, the emulator in <root>/platform/<component>.
  try {
    const root = dirname(dirname(realpathSync(gcloud)));
    if (existsSync(join(root, 'lib', 'gcloud.py')) && !existsSync(join(root, 'platform', component))) {
      const install = `gcloud components install ${component}, or apt-get install google-cloud-cli-${component}`;
      return `the ${component} component is not installed in ${root} (${install})`;
    }
  } catch {
    /* unknown layout: let the start attempt decide */
  }
  return undefined;
}

/** Skips the test with a visible notice when `reason` is set; under CI=true fails instead. */
export function skipOrFail(t: TestContext, reason: string | undefined, label: string): boolean {
  if (reason === undefined) return false;
  if (process.env.CI === 'true') assert.fail(`${label} emulator required when CI=true: ${reason}`);
  console.log(`NOTICE: skipping the ${label} emulator tests: ${reason}`);
  t.skip(reason);
  return true;
}

export interface RunningEmulator {
  host: string;
  port: number;
  /** The emulator's own CLOUDSDK_CONFIG (removed on stop). */
  configDir: string;
  /** Environment it was started with. */
  env: NodeJS.ProcessEnv;
  /** Milliseconds from spawn to the first `Ok`. */
  startMs: number;
  output(): string;
  stop(): Promise<void>;
}

export interface EmulatorSpec {
  label: string;
  /** gcloud arguments for a host:port and a private config dir. */
  args(host: string, configDir: string): string[];
  /** Extra environment (the emulator's *_EMULATOR_HOST variable is removed by the caller's spec). */
  env?(host: string): Record<string, string>;
  /** Environment variables to remove (so the emulator does not point at another one). */
  unset?: string[];
  startTimeoutMs?: number;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) killGroup(c, 'SIGKILL');
});

function killGroup(c: ChildProcess, signal: NodeJS.Signals): void {
  if (c.pid === undefined) return;
  try {
    process.kill(-c.pid, signal);
  } catch {
    /* group gone */
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts an emulator on a free port (retried on a port clash) and waits until it answers `Ok`. */
export async function startGcloudEmulator(spec: EmulatorSpec): Promise<RunningEmulator> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(spec, await freePort());
    } catch (e) {
      lastError = e;
      if (!/address already in use|BindException/i.test(String((e as Error).message))) break;
    }
  }
  throw lastError;
}

async function startOnce(spec: EmulatorSpec, port: number): Promise<RunningEmulator> {
  const configDir = await mkdtemp(join(tmpdir(), 'nbtrigger-gcloud-'));
  const host = `127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLOUDSDK_CONFIG: configDir,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    ...spec.env?.(host),
  };
  for (const k of spec.unset ?? []) delete env[k];
  const t0 = Date.now();
  const child = spawn('gcloud', spec.args(host, configDir), { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });
  const exited = new Promise<void>((res) => child.once('close', () => res()));
  const pid = child.pid;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (pid !== undefined) {
      killGroup(child, 'SIGTERM');
      const deadline = Date.now() + 5000;
      while (groupAlive(pid) && Date.now() < deadline) await sleep(100);
      if (groupAlive(pid)) {
        killGroup(child, 'SIGKILL');
        const hard = Date.now() + 5000;
        while (groupAlive(pid) && Date.now() < hard) await sleep(100);
      }
      await Promise.race([exited, sleep(2000, undefined, { ref: false })]);
    }
    live.delete(child);
    await rm(configDir, { recursive: true, force: true });
  };
  const timeout = spec.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeout;
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(
        `${spec.label} emulator exited before it was ready${spawnError ? ` (${spawnError.message})` : ''}:\n${out}`,
      );
    }
    if (await answersOk(host)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${spec.label} emulator not ready on ${host} within ${timeout} ms:\n${out}`);
    }
    await sleep(100);
  }
  return { host, port, configDir, env, startMs: Date.now() - t0, output: () => out, stop };
}

async function answersOk(host: string): Promise<boolean> {
  try {
    const res = await request(`http://${host}/`, { headersTimeout: 1000, bodyTimeout: 1000 });
    const text = await res.body.text();
    return res.statusCode === 200 && text.trim() === 'Ok';
  } catch {
    return false;
  }
}
