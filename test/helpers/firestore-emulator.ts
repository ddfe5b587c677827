/**
 * Test fixture: Google's Firestore emulator (`gcloud emulators firestore start`) on a free port, in
 * its own process group with a private CLOUDSDK_CONFIG (see gcloud-emulator.ts). `reset()` deletes
 * every document (`DELETE /emulator/v1/projects/P/databases/(default)/documents`). Start it once per
 * test file.
 *
 * Spec: docs/testing.md; https://cloud.google.com/firestore/docs/emulator.
 * @module
 */
import type { TestContext } from 'node:test';
import { request } from 'undici';
import { gcloudComponentMissing, skipOrFail, startGcloudEmulator } from './gcloud-emulator.js';

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
  return gcloudComponentMissing('cloud-firestore-emulator', 'Firestore');
}

/** Skips with a visible notice when the emulator is missing; under CI=true fails instead. */
export function skipUnlessFirestore(
  t: TestContext,
  reason: string | undefined = firestoreUnavailableReason(),
): boolean {
  return skipOrFail(t, reason, 'Firestore');
}

/** Starts the emulator and waits until it answers. */
export async function startFirestoreEmulator(
  opts: { project?: string; startTimeoutMs?: number } = {},
): Promise<FirestoreEmulator> {
  const project = opts.project ?? 'nbtrigger-test';
  const em = await startGcloudEmulator({
    label: 'Firestore',
    startTimeoutMs: opts.startTimeoutMs,
    unset: ['FIRESTORE_EMULATOR_HOST'],
    env: () => ({ CLOUDSDK_CORE_PROJECT: project }),
    args: (host) => ['emulators', 'firestore', 'start', `--host-port=${host}`],
  });
  return {
    port: em.port,
    host: em.host,
    project,
    startMs: em.startMs,
    async reset() {
      const res = await request(`http://${em.host}/emulator/v1/projects/${project}/databases/(default)/documents`, {
        method: 'DELETE',
        headersTimeout: 15_000,
        bodyTimeout: 15_000,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`emulator reset: HTTP ${res.statusCode}: ${text}`);
    },
    output: em.output,
    stop: em.stop,
  };
}
