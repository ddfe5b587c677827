/**
 * Delivery and checks shared by the bounds fault tests (bounds.test.ts, bounds-outputs.test.ts):
 * one Pub/Sub CloudEvent posted to the served function, its final log line and the kernels left
 * on the server, and the check of a permanent outcome (code, message, ack, bound, no kernel) that
 * records the row of the fault table.
 * @module
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { binaryEvent, isFinal, type FinalLine, type FunctionServer } from '../helpers/functions-framework.js';
import type { TestServer } from '../helpers/jupyter.js';
import { recordRow } from './common.js';

export interface Delivery {
  status: number;
  final: FinalLine;
  seconds: number;
  left: number;
}

/** Posts `message` as a Pub/Sub CloudEvent and waits for the run's final line. */
export async function deliver(
  server: TestServer,
  fn: FunctionServer,
  message: Record<string, unknown>,
): Promise<Delivery> {
  const req = binaryEvent({ text: JSON.stringify(message) });
  const t0 = Date.now();
  const res = await fn.post(req);
  const seconds = (Date.now() - t0) / 1000;
  const final = (await fn.waitForLine((l) => l.eventId === req.id && isFinal(l), 60_000)) as FinalLine;
  return { status: res.status, final, seconds, left: (await server.kernels()).length };
}

/** Decision, code, message, bound, no kernel; then the table row. */
export function check(
  fault: string,
  d: Delivery,
  want: { code: string; message: RegExp; maxSeconds: number; minSeconds?: number },
): void {
  const e = d.final.record.error;
  assert.equal(e?.code, want.code, JSON.stringify(d.final.record));
  assert.match(e!.message, want.message);
  assert.equal(d.final.ack, true, 'a permanent outcome is acknowledged');
  assert.equal(d.status, 204);
  assert.ok(d.seconds < want.maxSeconds && d.seconds >= (want.minSeconds ?? 0), `${d.seconds} s`);
  assert.equal(d.left, 0, 'no kernel left');
  recordRow({
    fault,
    expected: `${want.code} (ack)`,
    observed: `${e!.code} (${d.final.ack ? 'ack' : 'retry'}, HTTP ${d.status})`,
    seconds: d.seconds,
    kernelsLeft: d.left,
  });
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
