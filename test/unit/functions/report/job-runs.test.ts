/**
 * Job runs in the history (pure): a dispatched run whose job recorded it is left out (the job's
 * record, with the execution, stands for it); one without is shown by its lease: running, lost,
 * dispatched; a done lease means its record is elsewhere.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { executionId, jobRunState, jobRunsView, pendingDispatches } from '../../../../functions/report/job-runs.js';
import { formatRunsTable, toRow, type HistoryRun } from '../../../../functions/report/history.js';

const JOB = 'projects/p1-test/locations/europe-west1/jobs/nb';
const base = {
  notebook: 'nb.ipynb',
  server: null,
  kernelName: null,
  durationMs: 1,
  warnings: [],
  cells: { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 },
};
const dispatched = (id: string): HistoryRun => ({
  ...base,
  status: 'dispatched',
  startedAt: '2026-12-01T10:00:00.000Z',
  execution: `${JOB}/executions/${id}`,
  runKey: `run:msg:${id}`,
  runId: `d-${id}`,
});
const ran = (id: string): HistoryRun => ({
  ...base,
  status: 'succeeded',
  startedAt: '2026-12-01T10:00:05.000Z',
  execution: id,
  attempt: 0,
  runId: `j-${id}`,
});

describe('job runs', () => {
  it('executionId: the last segment of a full name; an id stays itself', () => {
    assert.equal(executionId(`${JOB}/executions/nb-abcde`), 'nb-abcde');
    assert.equal(executionId('nb-abcde'), 'nb-abcde');
  });
  it('pending: dispatched runs whose job wrote no record', () => {
    const runs = [dispatched('nb-1'), ran('nb-1'), dispatched('nb-2')];
    assert.deepEqual(
      pendingDispatches(runs).map((r) => r.runId),
      ['d-nb-2'],
    );
  });
  it('a lease says running (live), lost (expired), dispatched (free); done: the record is elsewhere', () => {
    assert.equal(jobRunState('live'), 'running');
    assert.equal(jobRunState('expired'), 'lost');
    assert.equal(jobRunState('free'), 'dispatched');
    assert.equal(jobRunState(undefined), 'dispatched');
    assert.equal(jobRunState('done'), undefined);
  });
  it('the view and the table: the job record stands for its run; a lost one shows lost, with its execution', () => {
    const runs = [dispatched('nb-1'), ran('nb-1'), dispatched('nb-2')];
    const view = jobRunsView(runs, new Map([[runs[2]!, 'lost' as const]]));
    assert.deepEqual(
      view.map((v) => [v.run.runId, v.state]),
      [
        ['j-nb-1', undefined],
        ['d-nb-2', 'lost'],
      ],
    );
    const table = formatRunsTable(view.map(({ run, state }) => toRow(run, state)));
    assert.match(table.split('\n')[0]!, /STATUS.*EXECUTION/);
    assert.match(table, /succeeded.*nb-1/);
    assert.match(table, /lost.*nb-2/);
    assert.doesNotMatch(
      formatRunsTable([toRow({ ...base, status: 'failed', startedAt: '2026-12-01T10:00:00.000Z' })]),
      /EXECUTION/,
    );
  });
});
