/**
 * Test fixture: Google's Firestore emulator (`gcloud emulators firestore start`, a Java process
 * under a Python gcloud wrapper and a shell script) on a free port, with a private CLOUDSDK_CONFIG.
 * It runs in its own process group and `stop()` ends the whole group (SIGTERM, then SIGKILL).
 * Readiness is polled (`GET /` answers `Ok`); `reset()` deletes every document
 * (`DELETE /emulator/v1/projects/P/databases/(default)/documents`). Start it once per test file.
 *
 * Spec: ../shared/design/README.md §4; https://cloud.google.com/firestore/docs/emulator.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { freePort } from '../../cli/jupyter-server.js';
import { which } from './pubsub-emulator.js';

export interface FirestoreEmulator {
  port: number;
  /** `127.0.0.1:PORT` (what `FIRESTORE_EMULATOR_HOST` would hold). */
  host: string;
  project: string;
  /** Milliseconds from spawn to the first `Ok`. */
  startMs: number;
  /** Deletes every document of the project's default database. */
  reset(): Promise<void>;
  /** Emulator stdout+stderr so far. */
  output(): string;
  /** Stops the emulator's whole process group; safe to call twice. */
  stop(): Promise<void>;
}

/** Why the emulator cannot run here, or undefined when it can. */
export function firestoreUnavailableReason(): string | undefined {
  const gcloud = which('gcloud');
  if (!gcloud) return 'gcloud is not on PATH (install the Google Cloud SDK with the cloud-firestore-emulator component)';
  if (!which('java')) return 'java is not on PATH (the Firestore emulator needs Java 11+, 21+ soon)';
  try {
    const root = dirname(dirname(realpathSync(gcloud)));
    if (existsSync(join(root, 'lib', 'gcloud.py')) && !existsSync(join(root, 'platform', 'cloud-firestore-emulator'))) {
      return `the cloud-firestore-emulator component is not installed in ${root} (gcloud components install cloud-firestore-emulator, or apt-get install google-cloud-cli-firestore-emulator)`;
    }
  } catch {
    /* unknown layout: let the start attempt decide */
  }
  return undefined;
}

/**
 * Skips the test with a visible notice when the emulator is missing, except under CI=true where
 * it fails instead. Answers true when the caller should return (skipped).
 */
export function skipUnlessFirestore(t: TestContext, reason: string | undefined = firestoreUnavailableReason()): boolean {
  if (reason === undefined) return false;
  if (process.env.CI === 'true') assert.fail(`Firestore emulator required when CI=true: ${reason}`);
  console.log(`# SKIP Firestore emulator tests: ${reason}`);
  t.skip(reason);
  return true;
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

/** Starts the emulator on a free port (retried on a port clash) and waits until it answers. */
export async function startFirestoreEmulator(opts: { project?: string; startTimeoutMs?: number } = {}): Promise<FirestoreEmulator> {
  const project = opts.project ?? 'nbtrigger-test';
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(project, await freePort(), opts.startTimeoutMs ?? 60_000);
    } catch (e) {
      lastError = e;
      if (!/address already in use|BindException/i.test(String((e as Error).message))) break;
    }
  }
  throw lastError;
}

async function startOnce(project: string, port: number, startTimeoutMs: number): Promise<FirestoreEmulator> {
  const configDir = await mkdtemp(join(tmpdir(), 'nbtrigger-gcloud-fs-'));
  const host = `127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, CLOUDSDK_CONFIG: configDir, CLOUDSDK_CORE_DISABLE_PROMPTS: '1', CLOUDSDK_CORE_PROJECT: project };
  delete env.FIRESTORE_EMULATOR_HOST;
  const t0 = Date.now();
  const child = spawn('gcloud', ['emulators', 'firestore', 'start', `--host-port=${host}`],
    { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  let spawnError: Error | undefined;
  child.once('error', (e) => { spawnError = e; });
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

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`Firestore emulator exited before it was ready${spawnError ? ` (${spawnError.message})` : ''}:\n${out}`);
    }
    if (await answersOk(host)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Firestore emulator not ready on ${host} within ${startTimeoutMs} ms:\n${out}`);
    }
    await sleep(100);
  }
  const startMs = Date.now() - t0;

  return {
    port,
    host,
    project,
    startMs,
    async reset() {
      const res = await request(`http://${host}/emulator/v1/projects/${project}/databases/(default)/documents`,
        { method: 'DELETE', headersTimeout: 15_000, bodyTimeout: 15_000 });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`emulator reset: HTTP ${res.statusCode}: ${text}`);
    },
    output: () => out,
    stop,
  };
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
