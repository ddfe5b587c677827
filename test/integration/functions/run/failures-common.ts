/**
 * Bounds and the runner call shared by the runner failure tests (failures.test.ts,
 * failures-server.test.ts): the hang bound a fault test checks against, the limits, and one run
 * that measures its wall time and checks no kernel is left on the server.
 * @module
 */
import assert from 'node:assert/strict';
import { parseMessage, type RunRequest } from '../../../../functions/request/grammar.js';
import { runNotebook, type RunLimits, type RunOptions, type RunOutcome } from '../../../../functions/run/runner.js';
import type { TestServer } from '../../../helpers/jupyter.js';

/**
 * Hang bounds: a kernel start on a loaded machine with heavy packages can take tens of seconds. A
 * fault test whose cell would sleep forever sets the cell timeout to HANG_MS and checks it ended
 * before it (the fault was seen, the timeout did not end it).
 */
export const HANG_MS = 120_000;
export const LIMITS: Partial<RunLimits> = { startTimeoutMs: 60_000, cleanupTimeoutMs: 10_000 };
export const T = { timeout: 300_000 };
export const FAULT_LIMITS: Partial<RunLimits> = { cellTimeoutMs: HANG_MS, runTimeoutMs: HANG_MS + 30_000 };

/** The request for `path` on the server at `hostPort`, with `extra` fields. */
export function requestFor(hostPort: string, path: string, extra: Partial<RunRequest> = {}): RunRequest {
  return { ...parseMessage(`${hostPort} /${path}`), ...extra };
}

/** Runs `path` on `server`, measures the wall time, and asserts that no kernel is left on the server. */
export async function runOn(
  server: TestServer,
  path: string,
  limits: Partial<RunLimits>,
  token = server.token,
  onProgress?: RunOptions['onProgress'],
): Promise<RunOutcome & { wallMs: number }> {
  const t0 = Date.now();
  const out = await runNotebook({
    request: requestFor(server.hostPort, path),
    token,
    limits: { ...LIMITS, ...limits },
    onProgress,
  });
  const wallMs = Date.now() - t0;
  assert.deepEqual(await server.kernels(), [], 'no kernel is left on the server');
  return { ...out, wallMs };
}
