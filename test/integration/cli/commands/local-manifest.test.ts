/**
 * `nbtrigger local -f MANIFEST` end to end, as a user runs it (the real CLI, real local Jupyter
 * servers, the function under functions-framework): a schedule fired with `--fire` runs its
 * notebook with the schedule's parameters, writes its record, and the exit code is the run's;
 * a schedule fired by the clock (started just before 07:00 in Tokyo with `--now`) runs and
 * writes its record; `nbtrigger publish` reaches the stack through PUBSUB_EMULATOR_HOST; on
 * SIGTERM every child process is gone.
 * Spec: docs/deploy.md (The same manifest, locally; "Tests": local target end to end).
 */
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredRun } from '../../../../functions/store/runs-store.js';
import { runCli, startCli } from '../../../helpers/cli.js';
import { notebookJson } from '../../../helpers/jupyter.js';

let root: string;
let manifest: string;

const MANIFEST = `
name: localtest
project: local-project
region: europe-west1
topic: t_local
notebooks:
  - name: report
    file: nb/report.ipynb
    schedules:
      - name: on-demand
        cron: "0 0 1 1 *"
        parameters: { greeting: fired, repeat: 2 }
      - name: tokyo-seven
        cron: "0 7 * * *"
        timeZone: Asia/Tokyo
        parameters: { greeting: clock, repeat: 1 }
        output: gs://no-such-bucket/report/
  - name: broken
    file: nb/broken.ipynb
    schedules:
      - name: broken-now
        cron: "0 0 1 1 *"
`;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'nbtrigger-local-manifest-'));
  await mkdir(join(root, 'nb'));
  await writeFile(
    join(root, 'nb', 'report.ipynb'),
    notebookJson([{ source: 'greeting = "default"\nrepeat = 0', tags: ['parameters'] }, 'f"{greeting}-{repeat}"']),
  );
  await writeFile(join(root, 'nb', 'broken.ipynb'), notebookJson(['1 / 0']));
  manifest = join(root, 'nbtrigger.yaml');
  await writeFile(manifest, MANIFEST);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function records(runs: string, notebook: string): Promise<StoredRun[]> {
  const dir = join(runs, notebook);
  const names = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(
    names
      .filter((n) => n.endsWith('.json'))
      .map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as StoredRun),
  );
}

/**
 * Hang bounds, not speed bounds: on a machine whose cores are all busy the stack (two Jupyter
 * servers and functions-framework) takes tens of seconds to start; these only catch a hang.
 */
const HANG_MS = 300_000;
const TEST_MS = 3 * HANG_MS;

interface Watched {
  child: ChildProcess;
  stderr: () => string;
}

/** Polls `f` until it gives a value; fails at once (with its stderr) if the CLI being waited on exited. */
async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>, cli?: Watched): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (cli && (cli.child.exitCode !== null || cli.child.signalCode !== null)) {
      throw new Error(`the CLI exited (${cli.child.exitCode ?? cli.child.signalCode}) before ${what}: ${cli.stderr()}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${cli ? `: ${cli.stderr()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test("--fire runs the schedule's message now, writes its record and exits with the run's code", {
  timeout: TEST_MS,
}, async () => {
  const runs = join(root, 'runs-fire');
  const r = await runCli(['local', '-f', manifest, '--root', root, '--runs', runs, '--fire', 'on-demand', '--json'], {
    timeoutMs: HANG_MS,
  });
  assert.equal(r.code, 0, r.stderr);
  const event = JSON.parse(
    r.stdout
      .trim()
      .split('\n')
      .find((l) => l.includes('"event":"run"'))!,
  ) as { schedule: string; messageId: string; status: string; path: string };
  assert.equal(event.schedule, 'on-demand');
  assert.equal(event.status, 'succeeded');
  const [rec, ...more] = await records(runs, 'report');
  assert.equal(more.length, 0, 'one record per run');
  assert.ok(rec);
  assert.equal(event.path, join(runs, 'report', `${rec.startedAt.replace(/:/g, '-')}-${rec.runId}.json`));
  assert.equal(rec.status, 'succeeded');
  assert.equal(rec.messageId, event.messageId);
  assert.equal(rec.notebook, 'nb/report.ipynb', 'the manifest path, served from the repository root');
  assert.deepEqual(rec.lastResult, { 'text/plain': "'fired-2'" }, "the schedule's parameters were injected");
  assert.equal(rec.schedule, 'on-demand');
});

test('a notebook with source: (Cloud Storage) runs locally from its file, no bucket involved', {
  timeout: TEST_MS,
}, async () => {
  const runs = join(root, 'runs-source');
  const sourced = join(root, 'nb', 'sourced.yaml');
  // file: is relative to the manifest naming it (nb/), as for a deploy that uploads it.
  await writeFile(
    sourced,
    `
name: localsrc
project: local-project
region: europe-west1
notebooks:
  - name: uploaded
    file: report.ipynb
    source: gs://team-notebooks/reports/
    schedules:
      - {name: now, cron: "0 0 1 1 *", parameters: { greeting: stored, repeat: 3 }}
`,
  );
  const r = await runCli(['local', '-f', sourced, '--root', root, '--runs', runs, '--fire', 'now'], {
    timeoutMs: HANG_MS,
  });
  assert.equal(r.code, 0, r.stderr);
  const [rec] = await records(runs, 'report');
  assert.equal(rec?.status, 'succeeded');
  assert.equal(rec?.notebook, 'nb/report.ipynb', 'the local file, served from the root');
  assert.deepEqual(rec?.lastResult, { 'text/plain': "'stored-3'" });
});

test('--fire of a failing notebook exits 1 with its record; an unknown schedule exits 2 naming the known ones', {
  timeout: TEST_MS,
}, async () => {
  const runs = join(root, 'runs-broken');
  const r = await runCli(['local', '-f', manifest, '--root', root, '--runs', runs, '--fire', 'localtest_broken-now'], {
    timeoutMs: HANG_MS,
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /ZeroDivisionError/);
  const [rec] = await records(runs, 'broken');
  assert.equal(rec?.status, 'failed');
  const unknown = await runCli(['local', '-f', manifest, '--root', root, '--fire', 'nope'], { timeoutMs: HANG_MS });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no schedule "nope".*on-demand, tokyo-seven, broken-now/);
  const noFile = await runCli(['local', '--fire', 'on-demand'], { timeoutMs: HANG_MS });
  assert.equal(noFile.code, 2);
  assert.match(noFile.stderr, /--fire needs -f MANIFEST/);
});

test('the clock fires a schedule at 07:00 Asia/Tokyo (--now just ' +
  'before), publish reaches the stack, SIGTERM stops every child', {
  timeout: TEST_MS,
}, async () => {
  const runs = join(root, 'runs-clock');
  // 21:59:57 UTC is 06:59:57 in Tokyo: tokyo-seven fires about three seconds after start.
  const cli = startCli(
    ['local', '-f', manifest, '--root', root, '--runs', runs, '--now', '2024-01-01T21:59:57Z', '--json'],
    { timeoutMs: 2 * HANG_MS },
  );
  let stdout = '';
  let stderr = '';
  cli.child.stdout!.on('data', (d: string) => {
    stdout += d;
  });
  cli.child.stderr!.on('data', (d: string) => {
    stderr += d;
  });
  const watched = { child: cli.child, stderr: () => stderr };
  const events = (): Array<Record<string, unknown>> =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  try {
    const ready = (await until(
      'the ready event',
      HANG_MS,
      async () => events().find((e) => e.event === 'ready'),
      watched,
    )) as {
      pubsub: string;
      function: { pid: number };
      services: Record<string, { pid: number; url: string }>;
      schedules: Record<string, string>;
    };
    assert.equal(ready.schedules['tokyo-seven'], '2024-01-01T22:00:00.000Z');
    assert.equal(ready.schedules['on-demand'], '2025-01-01T00:00:00.000Z');
    assert.deepEqual(Object.keys(ready.services).sort(), ['localtest-broken', 'localtest-report']);
    const fired = await until(
      "the clock's run",
      HANG_MS,
      async () => events().find((e) => e.event === 'run' && e.schedule === 'tokyo-seven'),
      watched,
    );
    assert.equal(fired.status, 'succeeded');
    const rec = (await records(runs, 'report')).find((r) => r.schedule === 'tokyo-seven');
    assert.ok(rec, "the clock's run was recorded");
    assert.deepEqual(rec.lastResult, { 'text/plain': "'clock-1'" });
    assert.ok(
      rec.outputs?.notebook?.startsWith(join(runs, 'report')),
      `gs:// output mapped to the runs folder: ${JSON.stringify(rec.outputs)}`,
    );

    // nbtrigger publish, unchanged, reaches the local stack as it would reach an emulator.
    const message = JSON.stringify({
      server: new URL(ready.services['localtest-report']!.url).host,
      notebook: '/nb/report.ipynb',
      parameters: { greeting: 'published', repeat: 7 },
    });
    const pub = await runCli(['publish', 't_local', '--project', 'local-project', '--message', message], {
      env: { PUBSUB_EMULATOR_HOST: ready.pubsub },
      timeoutMs: HANG_MS,
    });
    assert.equal(pub.code, 0, pub.stderr);
    const messageId = pub.stdout.trim();
    const published = await until(
      "the published run's record",
      HANG_MS,
      async () => (await records(runs, 'report')).find((r) => r.messageId === messageId),
      watched,
    );
    assert.deepEqual(published.lastResult, { 'text/plain': "'published-7'" });
    const wrongTopic = await runCli(['publish', 'other', '--project', 'local-project', '--message', message], {
      env: { PUBSUB_EMULATOR_HOST: ready.pubsub },
      timeoutMs: HANG_MS,
    });
    assert.notEqual(wrongTopic.code, 0, 'another topic is not served');

    const pids = [ready.function.pid, ...Object.values(ready.services).map((s) => s.pid)];
    assert.ok(pids.every(alive), 'children run while the stack runs');
    cli.child.kill('SIGTERM');
    const done = await cli.result;
    assert.equal(done.code, 0, done.stderr);
    assert.ok(events().some((e) => e.event === 'stopped'));
    await until('every child to be gone', 10_000, async () => (pids.some(alive) ? undefined : true));
  } finally {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
  }
});
