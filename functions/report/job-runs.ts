/**
 * Job runs in the history, pure: a job-mode run leaves two records, the function's `dispatched`
 * one and the job's own (both holding the execution). A dispatched run whose job has not written
 * a record yet is shown by the state of its dedupe lease (`run:<key>`, renewed by the job while it
 * runs): live → `running`; expired → `lost` (the task died without recording: out of memory,
 * killed at its task timeout); free → `dispatched` (the execution has not started the run yet).
 *
 * Spec: docs/function.md#job-mode.
 * @module
 */
import type { LeaseView } from '../store/leases-store.js';
import type { HistoryRun } from './history.js';

/** What a dispatched run without a job record is shown as. */
export type JobRunState = 'running' | 'lost' | 'dispatched';

/** The execution's id: the last segment of a full name (the job's CLOUD_RUN_EXECUTION is the id alone). */
export function executionId(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

/** The dispatched runs whose job has not written a record among `runs` (they need their lease looked at). */
export function pendingDispatches(runs: HistoryRun[]): HistoryRun[] {
  const recorded = new Set(
    runs.filter((r) => r.status !== 'dispatched' && r.execution).map((r) => executionId(r.execution!)),
  );
  return runs.filter((r) => r.status === 'dispatched' && !(r.execution && recorded.has(executionId(r.execution))));
}

/** The state shown for a pending dispatch, from its lease; undefined when the run is done (its record is elsewhere). */
export function jobRunState(lease: LeaseView | undefined): JobRunState | undefined {
  switch (lease) {
    case 'live':
      return 'running';
    case 'expired':
      return 'lost';
    case 'done':
      return undefined;
    default:
      return 'dispatched';
  }
}

/**
 * The runs to list: a dispatched run whose job wrote its record is left out (that record stands for
 * the run, with the execution); a pending one carries its state.
 */
export function jobRunsView(
  runs: HistoryRun[],
  states: Map<HistoryRun, JobRunState | undefined>,
): Array<{ run: HistoryRun; state?: JobRunState }> {
  const pending = new Set(pendingDispatches(runs));
  return runs
    .filter((r) => r.status !== 'dispatched' || pending.has(r))
    .map((run) => {
      const state = states.get(run);
      return state === undefined ? { run } : { run, state };
    });
}
