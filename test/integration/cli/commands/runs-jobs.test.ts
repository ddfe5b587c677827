/**
 * `nbtrigger runs` with job-mode runs: each `dispatched` record is shown by what became of its
 * job. A job killed mid-run (SIGKILL, as an out-of-memory kill or a task killed at its timeout
 * ends it: no record written) is `lost` once its renewed lease expires, never running forever; a
 * job still running is `running`; a job that recorded its run stands for it, with its execution.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { RunRecord } from '../../../../functions/run/record.js';
import { LocalLeaseStore } from '../../../../functions/store/leases-local.js';
import { openRunStore } from '../../../../functions/store/open-stores.js';
import { runCli, startCli } from '../../../helpers/cli.js';
import { alive, markerCell, waitForFile } from '../../../helpers/events.js';
import { notebookJson } from '../../../helpers/jupyter.js';

const JOB = 'projects/p1-test/locations/europe-west1/jobs/nb-long';

function dispatched(execution: string, key: string, startedAt: string): RunRecord & { runId: string } {
  return {
    status: 'dispatched',
    notebook: 'long.ipynb',
    server: null,
    kernelName: null,
    startedAt,
    durationMs: 40,
    cells: { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 },
    warnings: [],
    job: JOB,
    execution: `${JOB}/executions/${execution}`,
    runKey: `run:${key}`,
    runId: `d-${execution}`,
  };
}

/** The parent of a process (the Jupyter server of a kernel). */
async function parentOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

describe('nbtrigger runs: job runs', { timeout: 120_000 }, () => {
  const jobStatesTitle =
    'killed job → lost (lease expired); live lease → running; recorded → its own record, with the execution';
  test(jobStatesTitle, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbtrigger-runs-jobs-'));
    const runs = await mkdtemp(join(tmpdir(), 'nbtrigger-runs-jobs-store-'));
    await writeFile(join(dir, 'long.ipynb'), notebookJson([markerCell('long.running', 'time.sleep(120)')]));
    await writeFile(join(dir, 'quick.ipynb'), notebookJson(['6 * 7']));
    const store = await openRunStore({ kind: 'local', root: runs });
    await store.save(dispatched('nb-long-lost1', 'msg:lost', '2026-12-01T10:00:00.000Z'));
    await store.save(dispatched('nb-long-busy1', 'msg:busy', '2026-12-01T11:00:00.000Z'));
    await store.save({
      ...dispatched('nb-long-done1', 'msg:done', '2026-12-01T12:00:00.000Z'),
      notebook: 'quick.ipynb',
    });
    await store.close();
    const env = (file: string, execution: string, key: string): Record<string, string> => ({
      NBTRIGGER_REQUEST: JSON.stringify({ notebook: join(dir, file), runKey: key }),
      CLOUD_RUN_EXECUTION: execution,
      CLOUD_RUN_TASK_INDEX: '0',
      CLOUD_RUN_TASK_ATTEMPT: '0',
      NBTRIGGER_STORE: 'local',
      NBTRIGGER_RUNS_DIR: runs,
      NBTRIGGER_JOB_LEASE_SEC: '2',
    });

    // The finished one: its job recorded the run.
    const done = await runCli(['job'], { env: env('quick.ipynb', 'nb-long-done1', 'msg:done'), timeoutMs: 60_000 });
    assert.equal(done.code, 0, done.stderr);

    // The lost one: the job is killed mid-cell (no record), with its private server and kernel.
    const { child, result } = startCli(['job'], {
      env: env('long.ipynb', 'nb-long-lost1', 'msg:lost'),
      timeoutMs: 60_000,
    });
    const kernel = Number(await Promise.race([waitForFile(join(dir, 'long.running')), result.then(() => '0')]));
    assert.ok(kernel > 0, 'the cell started');
    const server = await parentOf(kernel);
    child.kill('SIGKILL');
    await result;
    try {
      process.kill(-server, 'SIGKILL');
    } catch {
      /* already gone */
    }
    // The busy one: a live lease, as a running job holds it.
    const leases = new LocalLeaseStore({ root: join(runs, '.leases') });
    assert.equal((await leases.claim('run:msg:busy', 60_000)).state, 'claimed');

    // The killed job's lease (2 s, renewed while it ran) expires: the run is lost. Waited on, bounded.
    const line = (out: string, id: string): string => out.split('\n').find((l) => l.includes(id)) ?? '';
    for (let i = 0; i < 300 && (await leases.peek('run:msg:lost')) !== 'expired'; i++) await sleep(100);
    assert.equal(await leases.peek('run:msg:lost'), 'expired');
    const r = await runCli(['runs', '--output-root', runs]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.split('\n')[0]!, /EXECUTION/);
    assert.match(line(r.stdout, 'nb-long-lost1'), /\blost\b/, r.stdout);
    assert.match(line(r.stdout, 'nb-long-busy1'), /\brunning\b/, r.stdout);
    const doneLines = r.stdout.split('\n').filter((l) => l.includes('nb-long-done1'));
    assert.equal(doneLines.length, 1, `the job's record stands for the run: ${r.stdout}`);
    assert.match(doneLines[0]!, /\bsucceeded\b/);
    // ipykernel exits when its server is killed (docs/outcomes.md); the test leaves nothing behind.
    for (let i = 0; i < 100 && alive(kernel); i++) await sleep(100);
    assert.equal(alive(kernel), false, 'no kernel left by the test');
  });
});
