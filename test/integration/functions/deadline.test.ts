/**
 * The function's own deadline: FUNCTION_TIMEOUT_SEC minus a margin bounds the run. An endless cell
 * is interrupted at that deadline, what it produced is written, its kernel is deleted, the record
 * says timed_out, and the invocation returns (204, ack) well before the platform's timeout.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import {
  binaryEvent,
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
} from '../../helpers/functions-framework.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';

const TIMEOUT_SEC = 33; // the run deadline is max(10 s, timeout − 30 s) = 10 s
let server: TestServer;
let ff: FunctionServer;

before(async () => {
  server = await startTestServer();
  await server.writeNotebook('endless.ipynb', [
    'print("started", flush=True)\nimport time\nwhile True: time.sleep(0.1)',
    '"never"',
  ]);
  ff = await startFunctionServer({ env: { JUPYTER_TOKEN: server.token, FUNCTION_TIMEOUT_SEC: String(TIMEOUT_SEC) } });
});
after(async () => {
  await ff?.stop();
  await server?.close();
});

test('an endless cell ends at the function deadline: timed_out, outputs written, kernel gone, acked in time', {
  timeout: 90_000,
}, async () => {
  const req = binaryEvent({ text: `${server.hostPort} /endless.ipynb` });
  const t0 = Date.now();
  const res = await ff.post(req);
  const seconds = (Date.now() - t0) / 1000;
  const final = (await ff.waitForLine((l) => l.eventId === req.id && isFinal(l), 10_000)) as FinalLine;
  assert.equal(res.status, 204, 'a timeout is final: acknowledged, not redelivered');
  assert.equal(final.record.status, 'timed_out');
  assert.equal(final.record.error?.code, 'TIMEOUT');
  assert.ok(
    seconds >= 9 && seconds < TIMEOUT_SEC - 5,
    `returned after ${seconds.toFixed(1)} s (deadline 10 s, platform kill at ${TIMEOUT_SEC} s)`,
  );
  assert.deepEqual(await server.kernels(), []);
  const outputs = final.record.outputs as { notebook: string };
  const nb = JSON.parse(await readFile(outputs.notebook, 'utf8')) as {
    cells: Array<{ cell_type: string; outputs?: Array<{ text?: string; ename?: string }> }>;
  };
  // The first code cell (papermill's error markers are markdown cells placed before it).
  const texts = nb.cells
    .find((c) => c.cell_type === 'code')!
    .outputs!.map((o) => o.text ?? o.ename ?? '')
    .join('|');
  assert.match(texts, /started/, 'what the cell printed before the deadline is in the written notebook');
  assert.match(texts, /KeyboardInterrupt/, 'and the interrupt that ended it');
});
