/**
 * The run's execute step: open the kernel channel (the end of the start phase), set up the
 * reconnector on the same session, run the planned cells through the executor, close every
 * channel the run opened.
 *
 * Spec: docs/jupyter-protocol.md; docs/function.md (Reconnect).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { KernelChannel } from '../jupyter/channel.js';
import { frameLimit } from '../jupyter/channel-frames.js';
import { executeCells, type ExecuteResult } from '../jupyter/executor.js';
import { logMessage } from '../jupyter/message-log.js';
import { createReconnector, fetchKernelState, type Reconnector } from '../jupyter/reconnect.js';
import { silentExecute, SNAPSHOT_CODE } from '../jupyter/warm-kernels.js';
import type { PlannedCell } from '../notebook/model.js';
import type { AcquiredKernel } from './kernel-steps.js';
import type { RunContext } from './run-context.js';

/** Executes `cells` on `kernel`; resolves with the executor's result (its `failure` says how it ended). */
export async function executeOnKernel(
  ctx: RunContext,
  kernel: AcquiredKernel,
  cells: PlannedCell[],
): Promise<ExecuteResult> {
  const { req, limits, rest, opts, log } = ctx;
  // Every channel of the run uses the same session id: a reconnect gets what the server buffered.
  const session = randomUUID();
  const channels: KernelChannel[] = [];
  const open = async (signal: AbortSignal): Promise<KernelChannel> => {
    // Jupyter Server holds the upgrade until the kernel answers: the handshake is part of the kernel's
    // start, bounded by the start timeout (at least 30 s) and never past the run's deadline.
    const ch = await KernelChannel.connect({
      server: req.server,
      kernelId: kernel.id,
      sessionId: session,
      headers: rest.headers,
      cookies: ctx.cookies,
      signal,
      connector: opts.connector,
      maxStringBytes: limits.maxOutputChars + 1,
      deadline: ctx.deadline,
      connectTimeoutMs: Math.max(30_000, limits.startTimeoutMs),
      maxPayload: frameLimit(limits.maxOutputChars, limits.memoryBudgetBytes),
    });
    channels.push(ch);
    return ch;
  };
  const reconnect = channelReconnector(ctx, kernel, open);
  const channel = await open(ctx.start.signal);
  ctx.start.done();
  // A kernel that may be kept: record what its reset restores, before any cell runs (silent).
  if (kernel.warm && !kernel.reused) channel.send(silentExecute(session, SNAPSHOT_CODE));
  const secrets = opts.token ? [opts.token] : [];
  const interruptTimeoutMs = Math.min(5000, limits.cleanupTimeoutMs);
  try {
    return await executeCells(channel, cells, {
      reconnect,
      interrupt: () => rest.interruptKernel(kernel.id, AbortSignal.timeout(interruptTimeoutMs)),
      session,
      sequential: req.sequential === true,
      cellTimeoutMs: limits.cellTimeoutMs,
      deadline: ctx.deadline,
      // The kernel's start is bounded as the server's readiness is: from the run's start.
      answerDeadline: ctx.started + limits.startTimeoutMs,
      maxOutputChars: limits.maxOutputChars,
      secrets,
      signal: ctx.inner.signal,
      now: ctx.now,
      onProgress: opts.onProgress && ((e) => opts.onProgress!({ ...e, cells: cells.length })),
      onMessage: ctx.debug ? (m) => logMessage(log!, m, secrets) : undefined,
    });
  } finally {
    for (const ch of channels) ch.close();
  }
}

/** The reconnect policy for the run's channel (none when the limits allow no attempt). */
function channelReconnector(
  ctx: RunContext,
  kernel: AcquiredKernel,
  open: (signal: AbortSignal) => Promise<KernelChannel>,
): Reconnector | undefined {
  const { limits, rest, opts, log } = ctx;
  if (limits.reconnectAttempts === 0) return undefined;
  return createReconnector({
    // The executor aborts `signal` when the run ends (which a cancellation of the run also causes).
    connect: open,
    kernelState: (signal) =>
      fetchKernelState(
        {
          base: rest.base,
          headers: rest.headers,
          kernelId: kernel.id,
          connector: opts.connector,
          cookies: ctx.cookies,
        },
        signal,
      ),
    attempts: limits.reconnectAttempts,
    deadline: ctx.deadline,
    now: ctx.now,
    onAttempt: (attempt, err) =>
      log?.log('WARNING', err ? 'kernel channel reconnect attempt failed' : 'kernel channel dropped: reconnecting', {
        kernelId: kernel.id,
        attempt,
        ...(err ? { error: err.message } : {}),
      }),
  });
}
