/**
 * Integration: the kernel channel's two wire protocols against the real Jupyter Server and
 * ipykernel. A stock server agrees to `v1.kernel.websocket.jupyter.org` (channel-v1.ts); one set to
 * the default JSON protocol (`ServerApp.kernel_ws_protocol = ''`) answers the offer with no
 * subprotocol, and the channel speaks JSON to it. The same cells give the same record on both.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { executeCells, type ExecuteResult } from '../../../../functions/jupyter/executor.js';
import { JupyterRest } from '../../../../functions/jupyter/rest.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';
import { withKernelChannel } from '../../../helpers/kernel-channel.js';

const T = { timeout: 60_000 };

const CELLS = [
  'print("out", flush=True)\n1 + 1',
  'import sys; sys.stderr.write("e" * 100_000)',
  'from IPython.display import display, HTML\ndisplay(HTML("<b>é</b>"))',
  '{"k": [1, 2]}',
  'raise ValueError("boom")',
  'print("never")',
].map((source, index) => ({ index, source, skip: false, allowError: false }));

let v1Server: TestServer;
let jsonServer: TestServer;

before(async () => {
  [v1Server, jsonServer] = await Promise.all([
    startTestServer(),
    startTestServer({ args: ['--ServerApp.kernel_ws_protocol='] }),
  ]);
});
after(async () => {
  await Promise.all([v1Server?.close(), jsonServer?.close()]);
});

/** Runs CELLS on a fresh kernel of `server`; the kernel is deleted and checked gone. */
async function runOn(server: TestServer): Promise<{ v1: boolean; result: ExecuteResult }> {
  const rest = new JupyterRest({ server: server.address, token: server.token });
  try {
    return await withKernelChannel(server, rest, async (ch, session) => {
      const result = await executeCells(ch, CELLS, { session, maxOutputChars: 1_000_000, cellTimeoutMs: 30_000 });
      return { v1: ch.v1, result };
    });
  } finally {
    await rest.close();
  }
}

/** What a run keeps of each cell: status, count and outputs (without ids and timings). */
function summary(r: ExecuteResult): unknown {
  return CELLS.map((c) => ({
    status: r.cells[c.index]?.status,
    count: r.cells[c.index]?.executionCount,
    outputs: JSON.parse(JSON.stringify(r.outputs.outputs(c.index))) as unknown,
  }));
}

test('v1 where the server offers it, JSON where it does not: the same cells, the same record', T, async () => {
  const [viaV1, viaJson] = await Promise.all([runOn(v1Server), runOn(jsonServer)]);
  assert.equal(viaV1.v1, true, 'a stock Jupyter Server agrees to v1');
  assert.equal(viaJson.v1, false, 'kernel_ws_protocol="" answers with no subprotocol');
  for (const { result } of [viaV1, viaJson]) {
    assert.equal(result.failure?.code, 'CELL_ERROR');
    assert.match(result.failure!.message, /cell 4 raised ValueError: boom/);
    assert.deepEqual(
      result.cells.map((c) => c.status),
      ['ok', 'ok', 'ok', 'ok', 'error', 'aborted'],
    );
  }
  const a = summary(viaV1.result) as Array<{ outputs: Array<{ output_type: string; text?: string }> }>;
  assert.deepEqual(a, summary(viaJson.result));
  assert.equal(a[1]!.outputs[0]!.text, 'e'.repeat(100_000), 'a long stream text whole');
  assert.deepEqual(
    a.map((c) => c.outputs.map((o) => o.output_type)),
    [['stream', 'execute_result'], ['stream', 'execute_result'], ['display_data'], ['execute_result'], ['error'], []],
  );
});
