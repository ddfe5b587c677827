/**
 * Acquiring the run's kernel and releasing it. Acquire: a warm kernel kept by an earlier run, the
 * early kernel when it runs the planned kernelspec, else a new one. Release: a clean run may hand
 * a warm-capable kernel on; anything else interrupts it when it may still be busy and deletes it.
 * A kernel the run started is deleted on every path, including one whose start outlasted the
 * start phase.
 *
 * Spec: docs/function.md (the runner must); https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html
 * @module
 */
import { toNbtError } from '../errors.js';
import type { ExecuteResult } from '../jupyter/executor.js';
import type { JupyterRest } from '../jupyter/rest.js';
import type { RestOptions } from '../jupyter/rest-transport.js';
import { keepWarmKernel, takeWarmKernel, warmKey } from '../jupyter/warm-kernels.js';
import type { EarlyKernel } from './early-kernel.js';
import type { RunPlan } from './plan-step.js';
import { beforeAbort, type RunContext } from './run-context.js';

/** The kernel a run executes on, and whether it may be kept warm afterwards. */
export interface AcquiredKernel {
  id: string;
  name: string;
  /** Taken from the warm kernels (already reset; its snapshot is taken). */
  reused: boolean;
  /** Where a clean run hands the kernel on (warm kernels on an IPython kernelspec only). */
  warm?: { key: string; conn: RestOptions };
}

/**
 * A kernel for the plan. Not cancellable mid-request: a kernel created by a request we abandoned
 * could not be deleted; one whose start outlasts the start phase is deleted once it has started.
 */
export async function acquireKernel(ctx: RunContext, plan: RunPlan, early?: EarlyKernel): Promise<AcquiredKernel> {
  const { rest, opts, limits, log, start } = ctx;
  const name = plan.kernelName;
  const warmCapable = opts.warmKernel === true && plan.spec.language === 'python';
  const key = warmCapable ? warmKey(rest.base, rest.headers, name, ctx.dir) : undefined;
  const warmId = key === undefined ? undefined : await takeWarmKernel(key, rest, opts.connector);
  const starting =
    warmId !== undefined
      ? Promise.resolve({ id: warmId, name })
      : (early ? early.take(name) : Promise.resolve(undefined)).then(
          (k) =>
            k ??
            (start.signal.aborted ? Promise.reject(new Error('aborted')) : rest.startKernel(name, undefined, ctx.dir)),
        );
  const kernel = await beforeAbort(starting, start.signal, () => {
    const removal = (k: { id: string }): Promise<void> =>
      deleteKernel(rest, k.id, AbortSignal.timeout(limits.cleanupTimeoutMs));
    const late = starting
      .then(removal, () => undefined)
      .catch((e: unknown) => log?.log('WARNING', 'kernel delete failed', { error: String(e) }));
    ctx.sideCleanups.push(() => late);
  });
  start.phase = 'opening the kernel channel';
  const reused = warmId !== undefined;
  if (ctx.debug) {
    log!.log('DEBUG', reused ? 'warm kernel reused' : 'kernel started', { kernelId: kernel.id, kernelName: name });
  }
  return { id: kernel.id, name, reused, ...(key === undefined ? {} : { warm: { key, conn: ctx.conn } }) };
}

/**
 * Releases the run's kernel; never rejects. Only a clean run (`result` without failure or
 * reconnect) hands a warm-capable kernel on (reset first); anything else deletes it, after an
 * interrupt when a timeout or a cancellation may have left it busy.
 */
export async function releaseKernel(ctx: RunContext, kernel: AcquiredKernel, result?: ExecuteResult): Promise<void> {
  const { rest, limits, log } = ctx;
  const kernelId = kernel.id;
  if (kernel.warm && result && !result.failure && result.reconnects === 0) {
    const kept = await keepWarmKernel(kernel.warm.key, kernelId, kernel.warm.conn).catch((e: unknown) => {
      log?.log('WARNING', 'kernel delete failed', { kernelId, error: String(e) });
      return 'failed';
    });
    if (kept !== 'failed') return;
  }
  const cleanup = AbortSignal.timeout(limits.cleanupTimeoutMs);
  const code = result?.failure?.code;
  if ((code === 'TIMEOUT' || code === 'CANCELLED') && !result?.interrupted) {
    await rest
      .interruptKernel(kernelId, cleanup)
      .catch((e: unknown) => log?.log('WARNING', 'kernel interrupt failed', { kernelId, error: String(e) }));
  }
  await deleteKernel(rest, kernelId, cleanup).catch((e: unknown) =>
    log?.log('WARNING', 'kernel delete failed', { kernelId, error: String(e) }),
  );
}

/**
 * Deletes a kernel, retrying 5xx until `signal` aborts, and a network error twice (a server that
 * is gone should not hold the run for the whole cleanup limit). Jupyter Server 1.x answers 500
 * to a DELETE that arrives while its restarter is restarting a kernel that died
 * (`InvalidStateError` on the pending `ready` future); a moment later the DELETE succeeds.
 */
export async function deleteKernel(rest: JupyterRest, kernelId: string, signal: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rest.deleteKernel(kernelId, signal);
      return;
    } catch (e) {
      const err = toNbtError(e);
      const unreachable = err.code === 'SERVER_UNREACHABLE' && err.retryable && attempt < 2;
      const transient = err.code === 'SERVER_ERROR' || unreachable;
      if (!transient || signal.aborted) throw e;
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, Math.min(1000, 100 * 2 ** attempt));
        function done(): void {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}
