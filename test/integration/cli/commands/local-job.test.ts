/**
 * `nbtrigger local -f MANIFEST --fire` for a job-mode notebook (`execution: job`): the local
 * function takes the schedule's message (naming the Cloud Run job), and instead of RunJob starts
 * `nbtrigger job` as a child process with a Cloud Run task's env (NBTRIGGER_REQUEST,
 * CLOUD_RUN_EXECUTION, CLOUD_RUN_TASK_INDEX=0, CLOUD_RUN_TASK_ATTEMPT=0); the run is the job's,
 * recorded with its execution, and the exit code is the run's.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { StoredRun } from '../../../../functions/store/runs-store.js';
import { runCli } from '../../../helpers/cli.js';
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
`;

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
