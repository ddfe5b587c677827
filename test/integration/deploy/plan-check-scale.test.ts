/**
 * `nbtrigger plan --check` on generated manifests of 1, 100 and 1,000 notebooks (two schedules
 * each): valid, within a hang bound, and without loading any Google client library (the check
 * makes no API call, and those libraries take longer to load than the check takes).
 * Spec: docs/deploy.md ("Scale").
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { runCli } from '../../helpers/cli.js';
import { generatedManifest, splitManifest } from '../../helpers/manifest-gen.js';
import { MODULE_TRACE_IMPORT } from '../../helpers/module-trace.js';

/** A loaded module that belongs to a Google client library (or its gRPC/protobuf stack). */
const GOOGLE_CLIENT = /@google-cloud[/\\]|google-gax|@grpc[/\\]|protobufjs|google-auth-library/;

/**
 * The CLI as installed runs its bundle (deploy/manifest.js is inside it; packages it leaves out are
 * `require`d and traced); `NBTRIGGER_CLI_BUNDLE=0` runs the compiled modules, each traced.
 */
async function traced(
  dir: string,
  name: string,
  args: string[],
  bundle = true,
): Promise<{ code: number | null; stdout: string; stderr: string; loaded: string[] }> {
  const trace = join(dir, `${name}.trace`);
  await writeFile(trace, '');
  const env = { NBTRIGGER_MODULE_TRACE: trace, ...(bundle ? {} : { NBTRIGGER_CLI_BUNDLE: '0' }) };
  const r = await runCli(args, { nodeArgs: ['--import', MODULE_TRACE_IMPORT], env, timeoutMs: 120_000 });
  return { ...r, loaded: (await readFile(trace, 'utf8')).split('\n').filter(Boolean) };
}

test('plan --check of 1, 100 and 1,000 generated notebooks is valid and loads no Google client library', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbt-scale-'));
  try {
    for (const n of [1, 100, 1000]) {
      const file = join(dir, `m${n}.yaml`);
      await writeFile(file, generatedManifest(n));
      for (const bundle of [true, false]) {
        const how = bundle ? 'bundle' : 'modules';
        const r = await traced(dir, `m${n}-${how}`, ['plan', '--check', '-f', file], bundle);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`valid \\(${n} notebook\\(s\\), ${2 * n} schedule\\(s\\)\\)`));
        const entry = bundle ? 'bundle/nbtrigger.cjs' : 'deploy/manifest.js';
        assert.ok(
          r.loaded.some((u) => u.includes(entry)),
          `the tracer saw ${entry}`,
        );
        assert.deepEqual(
          r.loaded.filter((u) => GOOGLE_CLIENT.test(u)),
          [],
          `plan --check of ${n} (${how}) loaded Google client modules`,
        );
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('plan --check of 1,000 notebooks split a folder per team: the same counts, each file validated', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbt-scale-'));
  try {
    await mkdir(join(dir, 'teams'));
    const files = splitManifest(1000, 100);
    for (const [path, text] of files) await writeFile(join(dir, path), text);
    const r = await traced(dir, 'split', ['plan', '--check', '-f', join(dir, 'nbtrigger.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid \(1000 notebook\(s\), 2000 schedule\(s\), 10 included file\(s\)\)/);
    assert.deepEqual(
      r.loaded.filter((u) => GOOGLE_CLIENT.test(u)),
      [],
    );
    await writeFile(
      join(dir, 'teams', 'team-03.yaml'),
      files.get('teams/team-03.yaml')!.replace('timeZone: Asia/Tokyo', 'timeZone: Asia/Tokio'),
    );
    const bad = await runCli(['plan', '--check', '-f', join(dir, 'nbtrigger.yaml')]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      new RegExp(
        `${join(dir, 'teams', 'team-03.yaml').replace(/[.]/g, '\\.')}:\\d+:\\d+: ` +
          /notebooks\[\d+\]\.schedules\[\d\]\.timeZone: "Asia\/Tokio" is not an IANA time zone/.source,
      ),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the module tracer sees the Google client libraries when the deploy clients are loaded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbt-scale-'));
  try {
    const trace = join(dir, 'clients.trace');
    await writeFile(trace, '');
    const entry = new URL(`file://${join(PROJECT_ROOT, 'dist', 'deploy', 'clients', 'index.js')}`).href;
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', MODULE_TRACE_IMPORT, '--input-type=module', '-e', `await import(${JSON.stringify(entry)})`],
        { env: { ...process.env, NBTRIGGER_MODULE_TRACE: trace }, stdio: 'ignore' },
      );
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('the import did not finish in 60 s'));
      }, 60_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0);
    const loaded = (await readFile(trace, 'utf8')).split('\n');
    for (const pkg of ['@google-cloud/run', '@google-cloud/scheduler', '@google-cloud/pubsub', 'google-gax']) {
      assert.ok(
        loaded.some((u) => u.includes(pkg)),
        `${pkg} seen`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
