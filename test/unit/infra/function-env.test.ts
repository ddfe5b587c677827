/**
 * infra/function-env.mjs, run for real: the function's environment file (Firestore store, bucket
 * output and the outputs a message may choose, max attempts, exactly the deployment's hosts), read
 * back by the function's own config and allowlist; wildcards that would hand the token to anyone's
 * Cloud Run service are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { functionConfig } from '../../../functions/config.js';
import { checkHost, parseAllowlist } from '../../../functions/security/allowlist.js';
import { messageOutputRefusal, outputAllowlist } from '../../../functions/security/outputs.js';

function run(servers: string, extra: string[] = []): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nbt-fenv-'));
  try {
    writeFileSync(join(dir, 'servers'), servers);
    const args = [
      '--allowed-servers-file',
      join(dir, 'servers'),
      '--bucket',
      'my-project-nbtrigger-runs',
      '--max-attempts',
      '5',
      ...extra,
    ];
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'infra/function-env.mjs'), ...args], {
      encoding: 'utf8',
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("function-env: the deployment's hosts, Firestore, the bucket, the max attempts; read back by the function", () => {
  const r = run('reports-hello-abc123-ew.a.run.app:443,jupyter.example.com:443\n');
  assert.equal(r.status, 0, r.stderr);
  const env = parse(r.stdout) as Record<string, string>;
  assert.deepEqual(env, {
    NODE_ENV: 'production',
    ALLOWED_SERVERS: 'reports-hello-abc123-ew.a.run.app:443,jupyter.example.com:443',
    NBTRIGGER_STORE: 'firestore',
    NBTRIGGER_OUTPUT: 'gs://my-project-nbtrigger-runs/runs/',
    ALLOWED_OUTPUTS: 'gs://my-project-nbtrigger-runs server:',
    NBTRIGGER_MAX_ATTEMPTS: '5',
  });
  const cfg = functionConfig({ ...env, K_SERVICE: 'runNotebook' });
  assert.equal(cfg.state.kind, 'firestore');
  assert.equal(cfg.output, 'gs://my-project-nbtrigger-runs/runs/');
  assert.equal(cfg.maxAttempts, 5);
  // The example manifest's schedule output is in the deployment's bucket: a message may choose it.
  const server = { host: 'reports-hello-abc123-ew.a.run.app', port: 443, secure: true };
  const outputs = outputAllowlist(env, cfg.output);
  assert.equal(messageOutputRefusal('gs://my-project-nbtrigger-runs/hello/', '/nb.ipynb', server, outputs), undefined);
  assert.match(messageOutputRefusal('gs://other-bucket/x/', '/nb.ipynb', server, outputs) ?? '', /ALLOWED_OUTPUTS/);
  const allow = parseAllowlist(env.ALLOWED_SERVERS);
  assert.equal(checkHost({ host: 'reports-hello-abc123-ew.a.run.app', port: 443 } as never, allow).allowed, true);
  assert.equal(
    checkHost({ host: 'attacker-xyz-ew.a.run.app', port: 443 } as never, allow).allowed,
    false,
    'another Cloud Run service',
  );
});

test('function-env: no services means no server is allowed (default deny)', () => {
  const r = run('');
  assert.equal(r.status, 0, r.stderr);
  const env = parse(r.stdout) as Record<string, string>;
  assert.equal(env.ALLOWED_SERVERS, '');
  assert.equal(
    checkHost({ host: 'x-ew.a.run.app', port: 443 } as never, parseAllowlist(env.ALLOWED_SERVERS)).allowed,
    false,
  );
});

test('function-env: refuses what would hand out the token, and bad values', () => {
  for (const open of ['*.run.app', '*.a.run.app:443', '*', 'a.example.com,*:443']) {
    const r = run(open);
    assert.equal(r.status, 2, open);
    assert.match(r.stderr, /any Cloud Run service receive the Jupyter token/);
  }
  assert.match(run('bad host!').stderr, /ALLOWED_SERVERS: "bad" is not host\[:port\]|is not host\[:port\]/);
  assert.match(run('a.example.com:443', ['--max-attempts', '4']).stderr, /5 to 100/);
  assert.match(run('a.example.com:443', ['--bucket', 'Bad_Bucket']).stderr, /not a bucket name/);
});

test("function-env: ALLOWED_JOBS is the deployment's own jobs; a pattern without a prefix is refused", () => {
  const ok = run('', ['--allowed-jobs', 'projects/my-project/locations/europe-west1/jobs/reports-*']);
  assert.equal(ok.status, 0, ok.stderr);
  const loc = 'projects/my-project/locations/europe-west1';
  assert.equal((parse(ok.stdout) as Record<string, string>).ALLOWED_JOBS, `${loc}/jobs/reports-*`);
  assert.equal(
    (parse(run('').stdout) as Record<string, string>).ALLOWED_JOBS,
    undefined,
    'none without --allowed-jobs',
  );
  for (const bad of [`${loc}/jobs/*`, `${loc}/jobs/reports-x`]) {
    const r = run('', ['--allowed-jobs', bad]);
    assert.equal(r.status, 2, bad);
    assert.match(r.stderr, /--allowed-jobs/);
  }
});

test("function-env: ALLOWED_SOURCES is the manifest's source folders, checked by the function's parser", () => {
  const ok = run('', ['--allowed-sources', 'gs://my-project-nbtrigger-runs/notebooks/ gs://team-nbs/reports/']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(
    (parse(ok.stdout) as Record<string, string>).ALLOWED_SOURCES,
    'gs://my-project-nbtrigger-runs/notebooks/ gs://team-nbs/reports/',
  );
  const none = run('', ['--allowed-sources', '']);
  assert.equal(
    (parse(none.stdout) as Record<string, string>).ALLOWED_SOURCES,
    '',
    'no source: notebooks, none readable',
  );
  const bad = run('', ['--allowed-sources', 'gs://Bad_Bucket/x/']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--allowed-sources: ALLOWED_SOURCES: "gs:\/\/Bad_Bucket\/x\/"/);
});
