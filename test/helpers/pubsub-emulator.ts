/**
 * Test fixture: Google's Pub/Sub emulator (`gcloud beta emulators pubsub start`) on a free port,
 * in its own process group with a private CLOUDSDK_CONFIG (see gcloud-emulator.ts). Topics and
 * subscriptions go through the emulator's REST API (undici); publishing goes through the real
 * `gcloud pubsub topics publish` CLI.
 *
 * Spec: docs/testing.md; https://cloud.google.com/pubsub/docs/emulator.
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { request } from 'undici';
import { gcloudComponentMissing, skipOrFail, startGcloudEmulator } from './gcloud-emulator.js';

export { which } from './gcloud-emulator.js';

export interface PubsubEmulator {
  port: number;
  /** `127.0.0.1:PORT` (what `PUBSUB_EMULATOR_HOST` would hold). */
  host: string;
  project: string;
  /** Environment for the gcloud CLI so `gcloud pubsub …` reaches this emulator. */
  gcloudEnv: Record<string, string>;
  createTopic(topic: string): Promise<void>;
  createPushSubscription(name: string, topic: string, pushEndpoint: string, ackDeadlineSeconds?: number): Promise<void>;
  /** PUTs a Subscription resource (REST form, `topic` as a full name) as given. */
  createSubscription(name: string, body: Record<string, unknown>): Promise<void>;
  /** `gcloud pubsub topics publish TOPIC --message=…` (the real CLI); answers the message ids. */
  publish(topic: string, message: string, attributes?: Record<string, string>): Promise<string[]>;
  /** Emulator stdout+stderr so far. */
  output(): string;
  /** Stops the emulator's whole process group; safe to call twice. */
  stop(): Promise<void>;
}

/** Why the emulator cannot run here, or undefined when it can (gcloud, java and the component present). */
export function emulatorUnavailableReason(): string | undefined {
  return gcloudComponentMissing('pubsub-emulator', 'Pub/Sub');
}

/** Skips with a visible notice when the emulator is missing; under CI=true fails instead. */
export function skipUnlessEmulator(t: TestContext, reason: string | undefined): boolean {
  return skipOrFail(t, reason, 'Pub/Sub');
}

/** Starts the emulator and waits until it answers. */
export async function startPubsubEmulator(
  opts: { project?: string; startTimeoutMs?: number } = {},
): Promise<PubsubEmulator> {
  const project = opts.project ?? 'nbtrigger-test';
  const gcloudEnvFor = (host: string): Record<string, string> => ({
    CLOUDSDK_CORE_PROJECT: project,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB: `http://${host}/`,
    CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true',
  });
  const em = await startGcloudEmulator({
    label: 'Pub/Sub',
    startTimeoutMs: opts.startTimeoutMs,
    unset: ['PUBSUB_EMULATOR_HOST'],
    env: gcloudEnvFor,
    args: (host, configDir) => {
      const dataDir = join(configDir, 'pubsub-data');
      mkdirSync(dataDir, { recursive: true });
      return [
        'beta',
        'emulators',
        'pubsub',
        'start',
        `--host-port=${host}`,
        `--project=${project}`,
        `--data-dir=${dataDir}`,
      ];
    },
  });
  const gcloudEnv = { CLOUDSDK_CONFIG: em.configDir, CLOUDSDK_CORE_DISABLE_PROMPTS: '1', ...gcloudEnvFor(em.host) };
  const api = `http://${em.host}/v1/projects/${project}`;
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
    port: em.port,
    host: em.host,
    project,
    gcloudEnv,
    createTopic: (topic) => put(`topics/${topic}`, {}),
    createSubscription: (name, body) => put(`subscriptions/${name}`, body),
    createPushSubscription: (name, topic, pushEndpoint, ackDeadlineSeconds = 60) =>
      put(`subscriptions/${name}`, {
        topic: `projects/${project}/topics/${topic}`,
        pushConfig: { pushEndpoint },
        ackDeadlineSeconds,
      }),
    async publish(topic, message, attributes = {}) {
      const args = ['pubsub', 'topics', 'publish', topic, `--message=${message}`, '--format=json'];
      const attrs = Object.entries(attributes)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      if (attrs) args.push(`--attribute=${attrs}`);
      const stdout = await new Promise<string>((res, rej) => {
        execFile('gcloud', args, { env: em.env, timeout: 60_000, killSignal: 'SIGKILL' }, (err, so, se) => {
          if (err) rej(new Error(`gcloud ${args.join(' ')} failed: ${err.message}\n${se}`));
          else res(so);
        });
      });
      const parsed = JSON.parse(stdout) as { messageIds?: string[] };
      if (!Array.isArray(parsed.messageIds)) throw new Error(`gcloud publish printed no messageIds: ${stdout}`);
      return parsed.messageIds;
    },
    output: em.output,
    stop: em.stop,
  };
}
