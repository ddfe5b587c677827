/**
 * `nbtrigger local -f MANIFEST --fire` for a job-mode notebook (`execution: job`): the local
 * function takes the schedule's message (naming the Cloud Run job), and instead of RunJob starts
 * `nbtrigger job` as a child process with a Cloud Run task's env (NBTRIGGER_REQUEST,
 * CLOUD_RUN_EXECUTION, CLOUD_RUN_TASK_INDEX=0, CLOUD_RUN_TASK_ATTEMPT=0); the run is the job's,
 * recorded with its execution, and the exit code is the run's.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { StoredRun } from '../../../../functions/store/runs-store.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalStack } from '../../../../cli/local/local-stack.js';
import { loadManifest } from '../../../../cli/commands/manifest-file.js';
import { runCli } from '../../../helpers/cli.js';
import { alive, markerCell, waitForFile } from '../../../helpers/events.js';
import { alive as running } from '../../../helpers/kernel-exec.js';
import { notebookJson } from '../../../helpers/jupyter.js';

const MANIFEST = `
name: localjob
project: local-project
region: europe-west1
topic: t_local
notebooks:
  - name: long
    file: nb/long.ipynb
    execution: job
    service: {image: "gcr.io/p/nb:1"}
    job: {cpu: 1, memory: 2Gi, maxRetries: 0}
    schedules:
      - name: long-now
        cron: "0 0 1 1 *"
        parameters: { n: 3 }
        timeouts: { run: "10m" }
  - name: sleepy
    file: nb/sleepy.ipynb
    execution: job
    service: {image: "gcr.io/p/nb:1"}
    job: {cpu: 1, memory: 2Gi, maxRetries: 0}
    schedules:
      - name: sleepy-now
        cron: "0 0 1 1 *"
`;

/** The `nbtrigger job` processes writing to `runsDir` (the env the local stack gives its function). */
function jobProcesses(runsDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[2] !== 'job' || !argv[1]?.endsWith('nbtrigger.js')) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`NBTRIGGER_RUNS_DIR=${runsDir}`))
        pids.push(Number(entry));
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return pids;
}

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'nbtrigger-local-job-'));
  await mkdir(join(root, 'nb'));
  // The kernel inherits the job process's env: its last result is the execution it ran in.
  await writeFile(
    join(root, 'nb', 'long.ipynb'),
    notebookJson([
      { source: 'n = 0', tags: ['parameters'] },
      "import os\nf\"{os.environ['CLOUD_RUN_EXECUTION']} {os.environ['CLOUD_RUN_TASK_ATTEMPT']} {n * 2}\"",
    ]),
  );
  await writeFile(join(root, 'nb', 'sleepy.ipynb'), notebookJson([markerCell('sleepy.running', 'time.sleep(120)')]));
  await writeFile(join(root, 'nbtrigger.yaml'), MANIFEST);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('--fire of a job-mode schedule runs the notebook as an `nbtrigger job` child process', {
  timeout: 600_000,
}, async () => {
  const runs = join(root, 'runs');
  const r = await runCli(
    ['local', '-f', join(root, 'nbtrigger.yaml'), '--root', root, '--runs', runs, '--fire', 'long-now', '--json'],
    { timeoutMs: 300_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const event = JSON.parse(
    r.stdout
      .trim()
      .split('\n')
      .find((l) => l.includes('"event":"run"'))!,
  ) as { status: string; path: string };
  assert.equal(event.status, 'succeeded', r.stdout);
  const names = await readdir(join(runs, 'long'));
  const recs = await Promise.all(
    names
      .filter((n) => n.endsWith('.json'))
      .map(async (n) => JSON.parse(await readFile(join(runs, 'long', n), 'utf8')) as StoredRun),
  );
  const dispatched = recs.filter((x) => x.status === 'dispatched');
  const ran = recs.filter((x) => x.status === 'succeeded');
  assert.equal(dispatched.length, 1, JSON.stringify(recs));
  assert.equal(ran.length, 1, JSON.stringify(recs));
  assert.match(
    dispatched[0]!.execution!,
    /^projects\/local-project\/locations\/europe-west1\/jobs\/localjob-long\/executions\/localjob-long-[0-9a-f]{5}$/,
  );
  const id = dispatched[0]!.execution!.slice(dispatched[0]!.execution!.lastIndexOf('/') + 1);
  assert.equal(ran[0]!.execution, id);
  assert.equal(ran[0]!.attempt, 0);
  assert.deepEqual(ran[0]!.lastResult, { 'text/plain': `'${id} 0 6'` });
  assert.equal(ran[0]!.schedule, 'long-now');
});

test('a local stack stopped mid-job leaves no job, kernel or server: the job records its cancelled run', {
  timeout: 600_000,
}, async () => {
  const runs = join(root, 'runs-stop');
  const stack = await startLocalStack({
    manifest: await loadManifest(join(root, 'nbtrigger.yaml')),
    rootDir: root,
    runsDir: runs,
    pubsub: false,
  });
  let kernel = 0;
  let jobs: number[] = [];
  try {
    const job = stack.jobs.find((j) => j.schedule === 'sleepy-now')!;
    const fired = stack.fire(job);
    fired.catch(() => undefined);
    kernel = Number(await waitForFile(join(root, 'nb', 'sleepy.running')));
    assert.ok(kernel > 0 && alive(kernel), 'the job runs the cell');
    jobs = jobProcesses(runs);
    assert.equal(jobs.length, 1, `one job process runs the notebook: ${jobs.join(', ')}`);
  } finally {
    await stack.stop();
  }
  // The function's exit SIGTERMs its job child: it interrupts, records, deletes the kernel and gives
  // its dedupe lease back (bounded waits), then exits; nothing writes under the runs folder after it.
  for (let i = 0; i < 300 && alive(kernel); i++) await sleep(100);
  assert.equal(alive(kernel), false, 'no kernel left');
  for (let i = 0; i < 300 && jobs.some(running); i++) await sleep(100);
  assert.deepEqual(jobs.filter(running), [], 'no job process left');
  let cancelled: StoredRun | undefined;
  for (let i = 0; i < 300 && !cancelled; i++) {
    const names = await readdir(join(runs, 'sleepy')).catch(() => [] as string[]);
    const recs = await Promise.all(
      names
        .filter((n) => n.endsWith('.json'))
        .map(async (n) => JSON.parse(await readFile(join(runs, 'sleepy', n), 'utf8')) as StoredRun),
    );
    cancelled = recs.find((x) => x.error?.code === 'CANCELLED');
    if (!cancelled) await sleep(100);
  }
  assert.ok(cancelled, 'the job recorded its cancelled run');
  assert.match(cancelled.error!.message, /SIGTERM/);
});
