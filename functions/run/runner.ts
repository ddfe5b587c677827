/**
 * The runner: drives one notebook through a Jupyter server as a sequence of named steps, each a
 * function of the run's context (run-context.ts) that can be called and tested alone:
 *
 *   plan (wait for the server, read and plan the notebook; an early kernel starts meanwhile)
 *   → acquire a kernel → execute (open the channel, run the cells) → release → record.
 *
 * The kernel it started is deleted on every path: success, cell error, timeout, kernel death,
 * cancellation, a bug; so are an early kernel it did not take and one that started too late.
 *
 * Spec: docs/architecture.md and docs/jupyter-protocol.md; docs/function.md (the runner must).
 * @module
 */
import { type NbtError, toNbtError } from '../errors.js';
import { preloadWebSocket } from '../jupyter/channel.js';
import type { ExecuteResult } from '../jupyter/executor.js';
import { httpBase } from '../request/address.js';
import { executeOnKernel } from './execute-step.js';
import { acquireKernel, releaseKernel } from './kernel-steps.js';
import { loadPlan, startEarlyKernel } from './plan-step.js';
import { countCells, recordError, statusFor, type RunRecord } from './record.js';
import { createRunContext, type RunContext, type RunOptions, type RunOutcome } from './run-context.js';

export { DEFAULT_LIMITS, type RunLimits, type RunOptions, type RunOutcome } from './run-context.js';

/** Runs one notebook. Never throws: every outcome is in the record. */
export async function runNotebook(opts: RunOptions): Promise<RunOutcome> {
  preloadWebSocket().catch(() => undefined); // loads while the server is asked and the kernel starts
  const ctx = createRunContext(opts);
  let error: NbtError | undefined;
  let cleanup: Promise<void> | undefined;
  try {
    const early = startEarlyKernel(ctx);
    const plan = await loadPlan(ctx);
    const kernel = await acquireKernel(ctx, plan, early);
    let exec: ExecuteResult;
    try {
      exec = await executeOnKernel(ctx, kernel, plan.cells);
    } catch (e) {
      await releaseKernel(ctx, kernel);
      throw e;
    }
    ctx.found.exec = exec;
    cleanup = releaseKernel(ctx, kernel, exec);
    error = exec.failure;
  } catch (e) {
    error = toNbtError(e);
    if (error.code === 'INTERNAL') ctx.log?.log('ERROR', 'internal error', { error: String((e as Error)?.stack ?? e) });
  } finally {
    ctx.dispose();
    // The kernels' deletion (the run's, an early one it did not use, one that started late)
    // still needs the connection pool: it is closed after it.
    cleanup = Promise.all([cleanup, ...ctx.sideCleanups.map((c) => c())]).then(() => ctx.rest.close());
    if (!opts.deferCleanup) await cleanup;
    // The caller builds and writes its record while the kernel is deleted: the DELETE goes on the wire
    // first, not after the caller's synchronous work (≈9 ms of a CLI run). Its request reaches undici
    // a few microtasks from now, and undici writes it on an idle keep-alive socket in the check phase
    // (it first reads what the server may have sent on that socket meanwhile); an Immediate queued
    // from an Immediate runs in the next loop iteration's check phase, after that write.
    else await new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
  }
  const { notebook, exec } = ctx.found;
  return { record: recordRun(ctx, error), error, notebook, exec, cleanup, cookies: ctx.cookies };
}

/** The run's record, from what it found, whatever step it reached. */
export function recordRun(ctx: RunContext, error: NbtError | undefined): RunRecord {
  const { notebook, cells, exec, kernelName } = ctx.found;
  const warnings = [...ctx.found.warnings];
  if (exec) warnings.push(...exec.warnings);
  for (const i of exec?.outputs.truncatedCells ?? []) {
    warnings.push(`cell ${i}: output truncated at ${ctx.limits.maxOutputChars} characters`);
  }
  const record: RunRecord = {
    status: statusFor(error),
    notebook: ctx.req.notebook,
    server: httpBase(ctx.req.server),
    kernelName,
    startedAt: new Date(ctx.started).toISOString(),
    durationMs: ctx.now() - ctx.started,
    cells: countCells(notebook?.cells.length ?? 0, exec?.cells, cells?.length ?? 0),
    warnings,
  };
  if (error) record.error = recordError(error);
  if (exec?.outputs.lastResult) record.lastResult = exec.outputs.lastResult;
  if (ctx.found.source) record.source = ctx.found.source;
  return record;
}
