/**
 * Shared pieces of the phase tests (phases-start.test.ts, phases-cells.test.ts): servers with a
 * gated kernelspec, a restart by another client, the table row, the "nothing ran" outcome.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { request as httpRequest } from 'undici';
import type { RunOutcome } from '../../functions/run/runner.js';
import { gatedKernel, type GatedKernel } from '../helpers/events.js';
import { startTestServer, type TestServer } from '../helpers/jupyter.js';
import { observed, recordRow } from './common.js';

let dir: string | undefined;
let shared: TestServer | undefined;
let gates = 0;
after(async () => {
  await shared?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * A fresh gate and a server: its own one, which finds the gated kernelspec on its `JUPYTER_PATH`
 * (the server's environment is copied when it is spawned), or the file's shared one (python3 only).
 */
export async function gateAndServer(own: boolean): Promise<{ gate: GatedKernel; server: TestServer }> {
  dir ??= await mkdtemp(join(tmpdir(), 'nbtrigger-phases-'));
  const gate = await gatedKernel(join(dir, `gate-${++gates}`));
  if (!own) {
    shared ??= await startTestServer();
    return { gate, server: shared };
  }
  const before = process.env.JUPYTER_PATH;
  process.env.JUPYTER_PATH = gate.jupyterPath;
  try {
    return { gate, server: await startTestServer() };
  } finally {
    if (before === undefined) delete process.env.JUPYTER_PATH;
    else process.env.JUPYTER_PATH = before;
  }
}

/**
 * Restarts the server's (only) kernel as another client would: `POST /api/kernels/{id}/restart`.
 * A launched kernel is listed only once the server's start call has returned (jupyter_client adds
 * it to its table after the launch), and on a loaded machine the launcher can run first: the list
 * is asked again until it shows a kernel, for at most `listedWithinMs`; 404 if none shows.
 */
export async function restartKernel(server: TestServer, listedWithinMs = 30_000): Promise<number> {
  const deadline = Date.now() + listedWithinMs;
  let [id] = await server.kernels();
  while (id === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    [id] = await server.kernels();
  }
  if (id === undefined) return 404;
  const res = await httpRequest(`http://${server.hostPort}/api/kernels/${id}/restart`, {
    method: 'POST',
    headers: { authorization: `token ${server.token}` },
  });
  await res.body.dump();
  return res.statusCode;
}

export function row(
  fault: string,
  phase: string,
  expected: string,
  out: RunOutcome & { seconds: number },
  kernelsLeft: number | string,
): void {
  recordRow({ fault: `${fault} · ${phase}`, expected, observed: observed(out), seconds: out.seconds, kernelsLeft });
}

/** Retryable infrastructure error, no cell ran: what a server lost before any cell started gives. */
export function assertNothingRan(out: RunOutcome): void {
  assert.equal(out.record.status, 'error');
  assert.ok(['SERVER_UNREACHABLE', 'KERNEL_DIED'].includes(out.record.error!.code), JSON.stringify(out.record.error));
  assert.equal(out.record.error?.retryable, true, 'nothing ran: a retry is safe');
  assert.equal(out.record.cells.executed, 0);
}
