/** Shared test data for the store tests (not a test file). */
import type { StoredRun } from '../../../../functions/store/runs-store.js';

/** A plausible stored run; override any field. */
export function sampleRun(over: Partial<StoredRun> = {}): StoredRun {
  return {
    runId: 'r1',
    status: 'succeeded',
    notebook: '/reports/daily.ipynb',
    server: 'http://127.0.0.1:8888',
    kernelName: 'python3',
    startedAt: '2026-01-21T23:49:30.123Z',
    durationMs: 1200,
    cells: { total: 2, executed: 2, succeeded: 2, failed: 0, aborted: 0, skipped: 0 },
    warnings: [],
    ...over,
  };
}
