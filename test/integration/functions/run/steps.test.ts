/**
 * The runner's steps, each called alone against a real Jupyter server: plan, acquire a kernel
 * (the early one when it fits), execute, release. Every test checks that no kernel is left.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseMessage, type RunRequest } from '../../../../functions/request/grammar.js';
import { executeOnKernel } from '../../../../functions/run/execute-step.js';
import { acquireKernel, releaseKernel } from '../../../../functions/run/kernel-steps.js';
import { loadPlan, startEarlyKernel } from '../../../../functions/run/plan-step.js';
import { createRunContext, type RunContext } from '../../../../functions/run/run-context.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';

const T = { timeout: 60_000 };
let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

function context(path: string, extra: Partial<RunRequest> = {}): RunContext & { dispose(): void } {
  const request = { ...parseMessage(`${server.hostPort} /${path}`), ...extra };
  return createRunContext({ request, token: server.token, limits: { startTimeoutMs: 20_000, runTimeoutMs: 40_000 } });
}

/** Ends a context as the runner does: side kernels deleted, then the connection pool closed. */
async function end(ctx: RunContext & { dispose(): void }): Promise<void> {
  ctx.dispose();
  await Promise.all(ctx.sideCleanups.map((c) => c()));
  await ctx.rest.close();
}

describe('runner steps, one at a time', () => {
  test('plan: a kernelspec the server lacks is NO_SUCH_KERNEL, with what was learned kept', T, async () => {
    const metadata = { kernelspec: { name: 'nope', display_name: 'x' } };
    const nb = await server.writeNotebook('steps-nokernel.ipynb', ['1'], metadata);
    const ctx = context(nb);
    await assert.rejects(loadPlan(ctx), (e: Error & { code?: string }) => e.code === 'NO_SUCH_KERNEL');
    assert.equal(ctx.found.kernelName, 'nope');
    assert.equal(ctx.found.cells?.length, 1);
    await end(ctx);
    assert.deepEqual(await server.kernels(), []);
  });

  test('acquire takes the early kernel, execute runs the cells, release deletes the kernel', T, async () => {
    const nb = await server.writeNotebook('steps-run.ipynb', ['a = 2', 'a * 21']);
    const ctx = context(nb);
    const early = startEarlyKernel(ctx);
    const plan = await loadPlan(ctx);
    const kernel = await acquireKernel(ctx, plan, early);
    assert.equal(kernel.reused, false);
    assert.deepEqual(await server.kernels(), [kernel.id], 'the early kernel, no second one');
    const exec = await executeOnKernel(ctx, kernel, plan.cells);
    assert.equal(exec.failure, undefined, exec.failure?.message);
    assert.deepEqual(exec.outputs.lastResult, { 'text/plain': '42' });
    await releaseKernel(ctx, kernel, exec);
    await end(ctx);
    assert.deepEqual(await server.kernels(), []);
  });

  test('an early kernel of another kernelspec is deleted by the end of the run', T, async () => {
    const nb = await server.writeNotebook('steps-other.ipynb', ['1']);
    const ctx = context(nb, { kernelName: 'python3' });
    const early = startEarlyKernel(ctx);
    await loadPlan(ctx);
    await end(ctx); // the run ended before acquiring: the early kernel goes with it
    assert.ok(early);
    assert.deepEqual(await server.kernels(), []);
  });
});
