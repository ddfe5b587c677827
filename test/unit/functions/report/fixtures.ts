/** Run records for the report tests (not a test file). */
import type { HistoryRun } from '../../../../functions/report/history.js';

const cells = { total: 3, executed: 3, succeeded: 3, failed: 0, aborted: 0, skipped: 0 };

export function run(over: Partial<HistoryRun> & { startedAt: string }): HistoryRun {
  return {
    status: 'succeeded',
    notebook: 'reports/daily.ipynb',
    server: 'http://127.0.0.1:8888',
    kernelName: 'python3',
    durationMs: 1200,
    cells,
    warnings: [],
    ...over,
  };
}

/** Twelve runs over three days: two notebooks, every status, one hostile name. */
export function sampleRuns(): HistoryRun[] {
  const out: HistoryRun[] = [];
  const t0 = Date.parse('2026-01-19T06:00:00.000Z');
  for (let i = 0; i < 8; i++) {
    const failed = i === 3 || i === 6;
    out.push(
      run({
        runId: `daily-${i}`,
        startedAt: new Date(t0 + i * 9 * 3600_000).toISOString(),
        durationMs: 1500 + i * 700 + (failed ? 4000 : 0),
        status: failed ? 'failed' : 'succeeded',
        ...(failed
          ? {
              error: {
                code: 'CELL_ERROR',
                message: 'cell 2 raised',
                retryable: false,
                cellIndex: 2,
                ename: 'ZeroDivisionError',
                evalue: 'division by zero',
              },
            }
          : {}),
        outputs: {
          notebook: `/srv/runs/daily/daily-${i}.ipynb`,
          ...(i === 7 ? { html: `/srv/runs/daily/daily-${i}.html` } : {}),
        },
      }),
    );
  }
  out.push(
    run({
      runId: 'etl-0',
      notebook: 'etl/load.ipynb',
      startedAt: '2026-01-19T12:00:00.000Z',
      durationMs: 61_000,
      outputs: { notebook: 'gs://nbt-out/etl/load-0.ipynb' },
    }),
  );
  out.push(
    run({
      runId: 'etl-1',
      notebook: 'etl/load.ipynb',
      startedAt: '2026-01-20T12:00:00.000Z',
      durationMs: 300_000,
      status: 'timed_out',
      error: { code: 'TIMEOUT', message: 'run exceeded 300 s', retryable: false },
    }),
  );
  out.push(
    run({
      runId: 'etl-2',
      notebook: 'etl/load.ipynb',
      startedAt: '2026-01-21T12:00:00.000Z',
      durationMs: 800,
      status: 'error',
      error: { code: 'SERVER_UNREACHABLE', message: 'cannot reach http://x', retryable: true },
    }),
  );
  out.push(
    run({
      runId: 'evil-0',
      notebook: 'x/<script>alert(1)</script>.ipynb',
      startedAt: '2026-01-21T18:00:00.000Z',
      status: 'failed',
      error: {
        code: 'CELL_ERROR',
        message: 'x',
        retryable: false,
        cellIndex: 0,
        ename: 'ValueError',
        evalue: '<img src=x onerror=alert(2)> & "q"',
      },
      outputs: { notebook: 'javascript:alert(3)' },
    }),
  );
  return out;
}
