/**
 * The CLI as installed runs from its bundle (bin/nbtrigger.js → bin/load-bundle.js): a command that
 * loads modules lazily with `import()` (`plan` loads the deploy clients only past its offline check)
 * works on its first run and on every later one, whatever an earlier run left cached.
 * Spec: docs/benchmarks.md (the CLI's start).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { runCli } from '../../helpers/cli.js';

const threePlansTitle =
  'plan through the bundle, three times in a row: the lazy import of the deploy clients works each time';
test(threePlansTitle, async () => {
  const bundle = join(PROJECT_ROOT, 'dist', 'bundle', 'nbtrigger.cjs');
  assert.ok(existsSync(bundle), 'npm run build makes the bundle');
  // bin/nbtrigger.js takes the bundle only when it is at least as new as the compiled modules.
  const compiled = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');
  assert.ok(
    statSync(bundle).mtimeMs >= statSync(compiled).mtimeMs,
    'the bundle is older than dist/: run npm run build',
  );
  const home = await mkdtemp(join(tmpdir(), 'nbtrigger-bundle-'));
  for (let i = 0; i < 3; i++) {
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
        NBTRIGGER_CLI_BUNDLE: undefined,
      },
      timeoutMs: 60_000,
    });
    // Past the offline check, the clients load (import()) and stop at the missing credentials.
    assert.equal(r.code, 2, `run ${i + 1}: ${r.stderr}`);
    assert.match(r.stderr, /no Google Cloud credentials/, `run ${i + 1}`);
    assert.doesNotMatch(r.stderr, /dynamic import|ExperimentalWarning/, `run ${i + 1}`);
  }
});
