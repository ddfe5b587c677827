/**
 * Every gcloud invocation of cloudbuild.yaml and of infra/setup.sh, run through the installed gcloud
 * itself (test/helpers/gcloud-parse.ts): no credentials, an empty config, a fake project. Each must
 * get past gcloud's own argument parsing and stop at the missing credentials. The invocations are
 * taken from the files: cloudbuild steps with `entrypoint: gcloud` (with the substitutions' defaults),
 * and `infra/setup.sh --dry-run`, which prints each gcloud argv it would run. A broken flag is shown
 * to fail the same check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { gcloudInstall, gcloudVerdict, gcloudVerdicts, type GcloudVerdict } from '../../helpers/gcloud-parse.js';
import { skipOrFail, which } from '../../helpers/gcloud-emulator.js';

interface Step {
  id?: string;
  entrypoint?: string;
  args?: string[];
}
interface Build {
  steps: Step[];
  substitutions?: Record<string, string>;
}

const PROJECT = 'nbtrigger-fake-project';
const BUILT_INS: Record<string, string> = {
  PROJECT_ID: PROJECT,
  PROJECT_NUMBER: '123456789012',
  BUILD_ID: '0e2f6c1a-5b7d-4c3e-9f81-2a4b6c8d0e1f',
  LOCATION: 'global',
  COMMIT_SHA: '',
  SHORT_SHA: '',
  REVISION_ID: '',
  BRANCH_NAME: '',
  TAG_NAME: '',
  REPO_NAME: '',
};
const SLOW = { timeout: 900_000 };

/** Cloud Build's substitution of one argument: `$$` is a dollar; `$X` / `${X}` a substitution. */
function substitute(arg: string, subs: Record<string, string>): string {
  return arg.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)\}|\$([A-Z_][A-Z0-9_]*)/g, (all, braced?: string, bare?: string) => {
    if (all === '$$') return '$';
    const name = braced ?? bare!;
    if (!(name in subs)) throw new Error(`cloudbuild.yaml: unknown substitution ${all}`);
    return subs[name]!;
  });
}

/** The gcloud command lines of cloudbuild.yaml, as Cloud Build would run them with the defaults. */
function cloudbuildCalls(text: string): string[][] {
  const b = parse(text) as Build;
  const subs = { ...BUILT_INS, ...(b.substitutions ?? {}) };
  const calls: string[][] = [];
  for (const s of b.steps) {
    const script = (s.args ?? []).join('\n');
    if (s.entrypoint === 'gcloud') calls.push(['gcloud', ...(s.args ?? []).map((a) => substitute(a, subs))]);
    else if (/\bgcloud\b/.test(script))
      throw new Error(`step ${s.id}: a gcloud call inside a script is not checked here: give it a step of its own`);
  }
  return calls;
}

function setupCalls(manifest = join(PROJECT_ROOT, 'infra/nbtrigger.yaml')): string[][] {
  const out = execFileSync('bash', [join(PROJECT_ROOT, 'infra/setup.sh'), '-f', manifest, '--dry-run'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string[]);
}

/** Setup's calls for the example manifest with its notebook line changed by `edit`, beyond the example's own. */
function variantCalls(edit: string): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'nbt-setup-variant-'));
  try {
    const text = readFileSync(join(PROJECT_ROOT, 'infra/nbtrigger.yaml'), 'utf8').replace(
      /^(\s+)file: examples\/hello\.ipynb.*$/m,
      edit,
    );
    writeFileSync(join(dir, 'm.yaml'), text);
    const seen = new Set(setupCalls().map((c) => JSON.stringify(c)));
    return setupCalls(join(dir, 'm.yaml')).filter((c) => !seen.has(JSON.stringify(c)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The notebook in a bucket of its own (`source:`), which the example's lack. */
const sourceBucketCalls = (): string[][] =>
  variantCalls('$1file: hello.ipynb\n$1source: "gs://my-project-notebooks/reports/"');
/** The notebook in job mode: its task's account needs what the function has. */
const jobModeCalls = (): string[][] => variantCalls('$1file: examples/hello.ipynb\n$1execution: job');

function report(vs: GcloudVerdict[]): string {
  return vs
    .filter((v) => !v.parsed)
    .map((v) => `${JSON.stringify(v.argv)}\n  exit ${v.code}: ${v.said}`)
    .join('\n\n');
}

/** A folder laid out as the build's workspace at the function deploy: the staged source and the env file. */
function buildWorkspace(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nbt-cloudbuild-'));
  mkdirSync(join(dir, '.function-source'));
  writeFileSync(join(dir, '.function-source', 'package.json'), '{}');
  writeFileSync(join(dir, '.allowed-servers'), 'reports-hello-abc123-ew.a.run.app:443,jupyter.example.com:443');
  const env = execFileSync(
    process.execPath,
    [
      join(PROJECT_ROOT, 'infra/function-env.mjs'),
      '--allowed-servers-file',
      join(dir, '.allowed-servers'),
      '--bucket',
      `${PROJECT}-nbtrigger-runs`,
      '--max-attempts',
      '5',
    ],
    { encoding: 'utf8' },
  );
  writeFileSync(join(dir, '.function-env.yaml'), env);
  return dir;
}

function gcloudMissing(): string | undefined {
  if (!which('gcloud')) return 'gcloud is not on PATH (install the Google Cloud SDK with its beta component)';
  return gcloudInstall() ? undefined : 'gcloud is not an SDK installation (bin/gcloud with lib/gcloud.py)';
}

test('setup.sh: the dry run lists every gcloud call the script makes (none bypasses the wrappers)', () => {
  const text = readFileSync(join(PROJECT_ROOT, 'infra/setup.sh'), 'utf8');
  const raw = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l) && /(^|[;&|(]|\$\()\s*gcloud\s/.test(l) && !l.includes('gcloud "$@"'));
  assert.deepEqual(raw, [], 'every gcloud call goes through gc/create/bind/query, so --dry-run prints it');
  const calls = setupCalls();
  assert.ok(calls.length >= 40, `only ${calls.length} calls`);
  for (const c of calls) assert.ok(c.includes('--project=my-project') && c.includes('--quiet'), JSON.stringify(c));
});

test('gcloud accepts every gcloud invocation of cloudbuild.yaml', SLOW, async (t) => {
  if (skipOrFail(t, gcloudMissing(), 'gcloud')) return;
  const calls = cloudbuildCalls(readFileSync(join(PROJECT_ROOT, 'cloudbuild.yaml'), 'utf8'));
  assert.deepEqual(
    calls.map((c) => c.slice(1, 3).join(' ')),
    ['functions deploy', 'functions add-invoker-policy-binding'],
  );
  const cwd = buildWorkspace();
  const configDir = mkdtempSync(join(tmpdir(), 'nbt-gcloud-config-'));
  try {
    const vs = await gcloudVerdicts(calls, { cwd, configDir });
    assert.equal(report(vs), '', 'gcloud rejected these');
  } finally {
    rmSync(cwd, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  }
});

test('gcloud accepts every gcloud invocation of infra/setup.sh', SLOW, async (t) => {
  if (skipOrFail(t, gcloudMissing(), 'gcloud')) return;
  const sources = sourceBucketCalls();
  assert.deepEqual(
    sources.map((c) => `${c.slice(1, 4).join(' ')} ${c[4]} ${c.find((a) => a.startsWith('--role=')) ?? ''}`.trim()),
    [
      'storage buckets create gs://my-project-notebooks',
      'storage buckets add-iam-policy-binding gs://my-project-notebooks --role=roles/storage.objectViewer',
      'storage buckets add-iam-policy-binding gs://my-project-notebooks --role=roles/storage.objectCreator',
      'storage buckets add-iam-policy-binding gs://my-project-notebooks --role=roles/storage.objectViewer',
    ],
    'a source: bucket: made, the function reads it, the build uploads to it',
  );
  const jobs = jobModeCalls();
  assert.deepEqual(
    jobs.map((c) => `${c.slice(1, 4).join(' ')} ${c.find((a) => a.startsWith('--role=')) ?? ''}`.trim()),
    [
      'projects add-iam-policy-binding my-project --role=roles/datastore.user',
      'storage buckets add-iam-policy-binding --role=roles/storage.objectUser',
    ],
    "a job-mode notebook's account: records and leases, and the outputs",
  );
  const calls = [...setupCalls(), ...sources, ...jobs];
  const configDir = mkdtempSync(join(tmpdir(), 'nbt-gcloud-config-'));
  try {
    const vs = await gcloudVerdicts(calls, { cwd: PROJECT_ROOT, configDir });
    assert.equal(report(vs), '', 'gcloud rejected these');
    assert.equal(vs.length, calls.length);
  } finally {
    rmSync(configDir, { recursive: true, force: true });
  }
});

test(
  'the check fails on a broken flag, a bad value and a missing required flag; the gcloud command agrees',
  SLOW,
  async (t) => {
    if (skipOrFail(t, gcloudMissing(), 'gcloud')) return;
    const [fn] = cloudbuildCalls(readFileSync(join(PROJECT_ROOT, 'cloudbuild.yaml'), 'utf8'));
    const broken = [
      fn!.map((a) => (a === '--runtime=nodejs22' ? '--runtimes=nodejs22' : a)),
      fn!.map((a) => (a.startsWith('--trigger-topic=') ? '--trigger-topic=t' : a)),
      ['gcloud', 'firestore', 'fields', 'ttls', 'update', 'expireAt', '--enable-ttl', `--project=${PROJECT}`],
    ];
    const cwd = buildWorkspace();
    const configDir = mkdtempSync(join(tmpdir(), 'nbt-gcloud-config-'));
    try {
      const vs = await gcloudVerdicts([fn!, ...broken], { cwd, configDir });
      assert.equal(vs[0]!.parsed, true, `the unbroken command: ${vs[0]!.said}`);
      for (const v of vs.slice(1)) assert.equal(v.parsed, false, `accepted: ${JSON.stringify(v.argv)}\n${v.said}`);
      // The `gcloud` command itself (its own start-up) gives the same two verdicts.
      const [good, bad] = await Promise.all([
        gcloudVerdict(fn!, { cwd, configDir }),
        gcloudVerdict(broken[0]!, { cwd, configDir }),
      ]);
      assert.equal(good!.parsed, true, good!.said);
      assert.equal(bad!.parsed, false, bad!.said);
      assert.match(bad!.said, /unrecognized arguments: --runtimes=nodejs22/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
      rmSync(configDir, { recursive: true, force: true });
    }
  },
);
