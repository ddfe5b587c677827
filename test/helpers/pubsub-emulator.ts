/**
 * Test fixture: Google's Pub/Sub emulator (`gcloud beta emulators pubsub start`, a Java
 * process under a Python gcloud wrapper) on a free port, with a private CLOUDSDK_CONFIG.
 * It runs in its own process group, and `stop()` ends that whole group. Readiness is polled
 * (`GET /` answers `Ok`). Topics and subscriptions go through the emulator's REST API (undici);
 * publishing goes through the real `gcloud pubsub topics publish` CLI.
 *
 * Spec: ../shared/design/README.md §4; https://cloud.google.com/pubsub/docs/emulator.
 * @module
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { freePort } from '../../cli/jupyter-server.js';

export interface PubsubEmulator {
  port: number;
  /** `127.0.0.1:PORT` (what `PUBSUB_EMULATOR_HOST` would hold). */
  host: string;
  project: string;
  /** Environment for the gcloud CLI so `gcloud pubsub …` reaches this emulator. */
  gcloudEnv: Record<string, string>;
  createTopic(topic: string): Promise<void>;
  createPushSubscription(name: string, topic: string, pushEndpoint: string, ackDeadlineSeconds?: number): Promise<void>;
  /** `gcloud pubsub topics publish TOPIC --message=…` (the real CLI); answers the message ids. */
  publish(topic: string, message: string, attributes?: Record<string, string>): Promise<string[]>;
  /** Emulator stdout+stderr so far. */
  output(): string;
  /** Stops the emulator's whole process group; safe to call twice. */
  stop(): Promise<void>;
}

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

/** Why the emulator cannot run here, or undefined when it can (gcloud, java and the component present). */
export function emulatorUnavailableReason(): string | undefined {
  const gcloud = which('gcloud');
  if (!gcloud) return 'gcloud is not on PATH (install the Google Cloud SDK with the pubsub-emulator component)';
  if (!which('java')) return 'java is not on PATH (the Pub/Sub emulator needs Java 11+)';
  // Installed SDK layout: <root>/bin/gcloud, the emulator in <root>/platform/pubsub-emulator.
  try {
    const root = dirname(dirname(realpathSync(gcloud)));
    if (existsSync(join(root, 'lib', 'gcloud.py')) && !existsSync(join(root, 'platform', 'pubsub-emulator'))) {
      return `the pubsub-emulator component is not installed in ${root} (gcloud components install pubsub-emulator, or apt-get install google-cloud-cli-pubsub-emulator)`;
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
export function skipUnlessEmulator(t: TestContext, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (process.env.CI === 'true') assert.fail(`Pub/Sub emulator required when CI=true: ${reason}`);
  console.log(`NOTICE: skipping the Pub/Sub emulator tests: ${reason}`);
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
export async function startPubsubEmulator(opts: { project?: string; startTimeoutMs?: number } = {}): Promise<PubsubEmulator> {
  const project = opts.project ?? 'nbtrigger-test';
  const configDir = await mkdtemp(join(tmpdir(), 'nbtrigger-gcloud-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(project, configDir, await freePort(), opts.startTimeoutMs ?? 60_000);
    } catch (e) {
      lastError = e;
      if (!/address already in use|BindException/i.test(String((e as Error).message))) break;
    }
  }
  await rm(configDir, { recursive: true, force: true });
  throw lastError;
}

async function startOnce(project: string, configDir: string, port: number, startTimeoutMs: number): Promise<PubsubEmulator> {
  const host = `127.0.0.1:${port}`;
  const gcloudEnv: Record<string, string> = {
    CLOUDSDK_CONFIG: configDir,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_PROJECT: project,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB: `http://${host}/`,
    CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true',
  };
  const dataDir = join(configDir, 'pubsub-data');
  await mkdir(dataDir, { recursive: true });
  const env = { ...process.env, ...gcloudEnv };
  delete env.PUBSUB_EMULATOR_HOST;
  const child = spawn('gcloud', ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`, `--project=${project}`,
    `--data-dir=${dataDir}`], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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
      live.delete(child);
      killGroup(child, 'SIGKILL');
      throw new Error(`Pub/Sub emulator exited before it was ready${spawnError ? ` (${spawnError.message})` : ''}:\n${out}`);
    }
    if (await answersOk(host)) break;
    if (Date.now() > deadline) {
      await stopGroupOnly();
      throw new Error(`Pub/Sub emulator not ready on ${host} within ${startTimeoutMs} ms:\n${out}`);
    }
    await sleep(150);
  }

  async function stopGroupOnly(): Promise<void> {
    killGroup(child, 'SIGKILL');
    live.delete(child);
    await Promise.race([exited, sleep(2000, undefined, { ref: false })]);
  }

  const api = `http://${host}/v1/projects/${project}`;
  const put = async (path: string, body: unknown): Promise<void> => {
    const res = await request(`${api}/${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`emulator PUT ${path}: HTTP ${res.statusCode}: ${text}`);
  };

  return {
    port,
    host,
    project,
    gcloudEnv,
    createTopic: (topic) => put(`topics/${topic}`, {}),
    createPushSubscription: (name, topic, pushEndpoint, ackDeadlineSeconds = 60) =>
      put(`subscriptions/${name}`, { topic: `projects/${project}/topics/${topic}`, pushConfig: { pushEndpoint }, ackDeadlineSeconds }),
    async publish(topic, message, attributes = {}) {
      const args = ['pubsub', 'topics', 'publish', topic, `--message=${message}`, '--format=json'];
      const attrs = Object.entries(attributes).map(([k, v]) => `${k}=${v}`).join(',');
      if (attrs) args.push(`--attribute=${attrs}`);
      const stdout = await new Promise<string>((res, rej) => {
        execFile('gcloud', args, { env, timeout: 60_000, killSignal: 'SIGKILL' }, (err, so, se) => {
          if (err) rej(new Error(`gcloud ${args.join(' ')} failed: ${err.message}\n${se}`));
          else res(so);
        });
      });
      const parsed = JSON.parse(stdout) as { messageIds?: string[] };
      if (!Array.isArray(parsed.messageIds)) throw new Error(`gcloud publish printed no messageIds: ${stdout}`);
      return parsed.messageIds;
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
