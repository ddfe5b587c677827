/**
 * The run's first step: wait for the server while the notebook is read (and the kernel the run
 * most likely needs starts early), then parse the notebook, pick and check its kernelspec,
 * inject the parameters and plan the cells. What it learns goes to the run's findings as it
 * learns it, so a run that fails half-way is still recorded with what it knew.
 *
 * Spec: docs/function.md (the runner must); https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html
 * @module
 */
import { isNbtError, NbtError } from '../errors.js';
import type { KernelSpecs } from '../jupyter/rest.js';
import { untilReady } from '../jupyter/retry.js';
import { notebookKernelName, parseNotebook, plannedCells, type Notebook, type PlannedCell } from '../notebook/model.js';
import { injectParameters } from '../notebook/parameters.js';
import { httpBase } from '../request/address.js';
import { EarlyKernel } from './early-kernel.js';
import { deleteKernel } from './kernel-steps.js';
import { beforeAbort, type RunContext } from './run-context.js';

/** What the run will execute, and on which kernelspec. */
export interface RunPlan {
  notebook: Notebook;
  cells: PlannedCell[];
  kernelName: string;
  spec: KernelSpecs['specs'][string];
}

/**
 * Starts the kernel the run most likely needs now, beside the reads (see early-kernel.ts); none
 * when the run may reuse a warm kernel. A kernel started before the runner loaded
 * (`opts.preStarted`) stands in for that start when it was asked of the same server, kernelspec
 * and folder; any other is deleted.
 */
export function startEarlyKernel(ctx: RunContext): EarlyKernel | undefined {
  const { rest, limits, log, req } = ctx;
  const pre = ctx.opts.preStarted;
  const usable =
    pre !== undefined &&
    !ctx.opts.warmKernel &&
    pre.origin === httpBase(req.server) &&
    pre.name === req.kernelName &&
    pre.path === ctx.dir;
  if (pre && !usable) {
    const gone = pre.discard();
    ctx.sideCleanups.push(() => gone);
  }
  if (ctx.opts.warmKernel) return undefined;
  const early = new EarlyKernel(
    {
      start: (name, path) =>
        usable
          ? pre.take().then((k) => k ?? rest.startKernel(name, undefined, path))
          : rest.startKernel(name, undefined, path),
      remove: (id) =>
        deleteKernel(rest, id, AbortSignal.timeout(limits.cleanupTimeoutMs)).catch((e: unknown) =>
          log?.log('WARNING', 'kernel delete failed', { kernelId: id, error: String(e) }),
        ),
    },
    req.kernelName,
    ctx.dir,
  );
  ctx.sideCleanups.push(() => early.discard());
  return early;
}

/** Reads the server's kernelspecs and the notebook, then plans the run. */
export async function loadPlan(ctx: RunContext): Promise<RunPlan> {
  const { req, limits, found } = ctx;
  const [specs, text] = await readSpecsAndNotebook(ctx);
  if (text.length > limits.maxNotebookBytes && Buffer.byteLength(text) > limits.maxNotebookBytes) {
    throw new NbtError(
      'BAD_NOTEBOOK',
      `notebook "${req.notebook}" is larger than the cap of ${limits.maxNotebookBytes} bytes ` +
        '(NBTRIGGER_MAX_NOTEBOOK_BYTES)',
      { details: { field: 'notebook', maxBytes: limits.maxNotebookBytes } },
    );
  }
  ctx.start.phase = 'starting the kernel';
  let notebook = parseNotebook(text, req.notebook, limits);
  found.notebook = notebook;
  found.cells = plannedCells(notebook);
  const name = req.kernelName ?? notebookKernelName(notebook) ?? specs.default;
  found.kernelName = name;
  const spec = specs.specs[name];
  if (!spec) {
    const has = Object.keys(specs.specs).join(', ') || '(none)';
    throw new NbtError('NO_SUCH_KERNEL', `kernel "${name}" is not on the server; it has: ${has}`, {
      details: { field: 'kernelName' },
    });
  }
  if (req.parameters && Object.keys(req.parameters).length > 0) {
    notebook = injectParameters(notebook, req.parameters, spec.language || undefined, {
      kernelName: name,
      onWarning: (w) => found.warnings.push(w),
    });
    found.notebook = notebook;
  }
  const cells = plannedCells(notebook);
  found.cells = cells;
  ctx.opts.onPlan?.(notebook, cells);
  if (ctx.opts.signal?.aborted) throw new NbtError('CANCELLED', 'run cancelled');
  return { notebook, cells, kernelName: name, spec };
}

/**
 * The kernelspecs and the notebook's text, read in parallel, each retried while the server is
 * starting. A deadline that passes while the server has not answered yet is the server's
 * unavailability (transient: retried), not the notebook's timeout; once it answered, a slow read
 * is a TIMEOUT.
 */
async function readSpecsAndNotebook(ctx: RunContext): Promise<[KernelSpecs, string]> {
  const { rest, req, limits, start, opts } = ctx;
  const startDeadline = Math.min(ctx.started + limits.startTimeoutMs, ctx.deadline ?? Infinity);
  const ready = { deadline: startDeadline, signal: start.signal, now: ctx.now };
  let answered = false;
  const heard = <T>(v: T): T => {
    answered = true;
    return v;
  };
  const source = opts.notebookSource;
  const read = source
    ? beforeAbort(source.read(start.signal, limits.maxNotebookBytes), start.signal).then((r) => {
        ctx.found.source = { url: r.url, version: r.version };
        return r.text;
      })
    : opts.notebookText
      ? beforeAbort(opts.notebookText, start.signal)
      : untilReady(() => rest.readText(req.notebook, start.signal, limits.maxNotebookBytes), ready)
          .then(heard)
          .catch((e: unknown) => kernelOnlyHint(ctx, e));
  return Promise.all([untilReady(() => rest.kernelspecs(start.signal), ready).then(heard), read]).catch(
    (e: unknown) => {
      if (answered || !isNbtError(e) || e.code !== 'TIMEOUT' || ctx.inner.signal.aborted) throw e;
      throw new NbtError('SERVER_UNREACHABLE', `server ${httpBase(req.server)} not ready before the run deadline`, {
        cause: e,
      });
    },
  );
}

/**
 * A server path that is not found may mean the server has no contents API at all (a kernel-only
 * server, such as a Jupyter Kernel Gateway): asked once, on that path only, so the error says so.
 */
async function kernelOnlyHint(ctx: RunContext, e: unknown): Promise<never> {
  if (!isNbtError(e) || e.code !== 'NOTEBOOK_NOT_FOUND') throw e;
  const root = await ctx.rest
    .send('GET', '/api/contents?content=0', { signal: ctx.start.signal, timeoutMs: 10_000 })
    .catch(() => undefined);
  if (root?.status !== 404) throw e;
  throw new NbtError(
    'NOTEBOOK_NOT_FOUND',
    `notebook "${ctx.req.notebook}": the server has no contents API ` +
      '(kernel-only); name the notebook as gs://, https:// or file:// so nbtrigger reads it itself',
    { details: { field: 'notebook', status: 404 } },
  );
}
