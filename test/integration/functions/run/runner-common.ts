/**
 * The runner call shared by the runner integration tests (runner.test.ts,
 * runner-bad-notebooks.test.ts): limits sized for a small notebook on a loaded machine, and one
 * run that checks no kernel is left on the server afterwards.
 * @module
 */
import assert from 'node:assert/strict';
import { parseMessage, type RunRequest } from '../../../../functions/request/grammar.js';
import { runNotebook, type RunLimits, type RunOutcome } from '../../../../functions/run/runner.js';
import type { TestServer } from '../../../helpers/jupyter.js';

export const LIMITS: Partial<RunLimits> = {
  startTimeoutMs: 10_000,
  cellTimeoutMs: 20_000,
  runTimeoutMs: 40_000,
  cleanupTimeoutMs: 10_000,
};
export const T = { timeout: 60_000 };

/** Runs `path` on `server` and asserts that no kernel is left on the server. */
export async function runOn(
  server: TestServer,
  path: string,
  extra: Partial<RunRequest> = {},
  limits: Partial<RunLimits> = {},
): Promise<RunOutcome> {
  const out = await runNotebook({
    request: { ...parseMessage(`${server.hostPort} /${path}`), ...extra },
    token: server.token,
    limits: { ...LIMITS, ...limits },
  });
  assert.deepEqual(await server.kernels(), [], 'no kernel is left on the server');
  return out;
}
