/**
 * `nbtrigger plan` with no Google Cloud credentials at all: a clear CONFIG error and exit 2, not
 * the uncaught exception @google-cloud/run throws from its paged call. The metadata server probe
 * is disabled (METADATA_SERVER_DETECTION=none) so the test sends no traffic off this machine.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../../../helpers/cli.js';

test('plan without credentials: exit 2, one clear line, no stack trace', async () => {
  const home = await mkdtemp(join(tmpdir(), 'nbtrigger-noadc-'));
  const r = await runCli(['plan', '-f', 'infra/nbtrigger.yaml'], {
    env: {
      HOME: home,
      CLOUDSDK_CONFIG: join(home, 'gcloud'),
      GOOGLE_APPLICATION_CREDENTIALS: undefined,
      METADATA_SERVER_DETECTION: 'none',
      GCE_METADATA_HOST: '127.0.0.1:9',
      GCE_METADATA_IP: '127.0.0.1:9',
      PUBSUB_EMULATOR_HOST: undefined,
      NBTRIGGER_RUN_ENDPOINT: undefined,
      NBTRIGGER_SCHEDULER_ENDPOINT: undefined,
    },
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /nbtrigger plan: no Google Cloud credentials/);
  assert.match(r.stderr, /gcloud auth application-default login/);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
});
