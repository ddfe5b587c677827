/**
 * docs/function.md, as a test: the served function runs a notebook printing 50 MB
 * in one cell with its peak RSS growth (VmHWM, reset just before the run) below 2× the output cap,
 * and the written notebook says where the output was cut. Two ways of printing: 50 flushed 1 MB
 * chunks, and one `print` of 50 MB (split by nbtrigger's kernel config). A trivial run measured the
 * same way is the control (it must stay far below). Linux only (/proc); skipped with a notice elsewhere.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { procMemory, resetPeak } from '../../../bench/function-process.js';
import { DEFAULT_LIMITS } from '../../../functions/run/runner.js';
import { TRUNCATION_NOTE } from '../../../functions/notebook/outputs.js';
import {
  binaryEvent,
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
} from '../../helpers/functions-framework.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';

const CAP_MB = DEFAULT_LIMITS.maxOutputChars / 2 ** 20;
const linux = existsSync('/proc/self/clear_refs');
let server: TestServer;
let ff: FunctionServer;

before(async () => {
  if (!linux) return;
  server = await startTestServer();
  await server.writeNotebook('trivial.ipynb', ['1 + 1']);
  await server.writeNotebook('chunks.ipynb', [
    'import sys\nfor i in range(50):\n    sys.stdout.write("x" * (2**20 - 1) + "\\n")\n    sys.stdout.flush()',
    '"after"',
  ]);
  await server.writeNotebook('print.ipynb', ['print("é" + "y" * (50 * 2**20))', '"after"']);
  ff = await startFunctionServer({ env: { JUPYTER_TOKEN: server.token } });
});
after(async () => {
  await ff?.stop();
  await server?.close();
});

/** Runs one notebook through the function: its final log line and the peak RSS growth, MB. */
async function measured(path: string): Promise<{ final: FinalLine; growthMb: number }> {
  const pid = ff.child.pid!;
  assert.ok(resetPeak(pid), 'VmHWM reset');
  const before = procMemory(pid).rssMb;
  const req = binaryEvent({ text: `${server.hostPort} ${path}` });
  const res = await ff.post(req);
  assert.equal(res.status, 204, res.body);
  const final = (await ff.waitForLine((l) => l.eventId === req.id && isFinal(l), 10_000)) as FinalLine;
  return { final, growthMb: procMemory(pid).peakMb - before };
}

describe('a cell printing 50 MB through the served function', {
  skip: linux ? false : 'no /proc/PID/clear_refs here (not Linux): memory test skipped',
}, () => {
  test('control: a trivial run first (loads the modules, sets the baseline)', { timeout: 60_000 }, async () => {
    const { final } = await measured('/trivial.ipynb');
    assert.equal(final.record.status, 'succeeded');
  });

  for (const [name, path] of [
    ['50 × 1 MB flushed chunks', '/chunks.ipynb'],
    ['one print of 50 MB', '/print.ipynb'],
  ] as const) {
    test(`${name}: peak RSS growth below 2× the ${CAP_MB} MiB cap, notebook written and marked truncated`, {
      timeout: 120_000,
    }, async () => {
      const { final, growthMb } = await measured(path);
      assert.equal(final.record.status, 'succeeded', JSON.stringify(final.record.error));
      assert.ok(growthMb < 2 * CAP_MB, `peak RSS grew by ${growthMb.toFixed(1)} MB (limit ${2 * CAP_MB} MB)`);
      const nb = JSON.parse(await readFile((final.record.outputs as { notebook: string }).notebook, 'utf8')) as {
        cells: Array<{
          metadata: { nbtrigger?: { outputTruncated?: boolean } };
          outputs: Array<{ name?: string; text?: string }>;
        }>;
      };
      const cell = nb.cells[0]!;
      assert.equal(cell.metadata.nbtrigger?.outputTruncated, true);
      const text = cell.outputs.map((o) => o.text ?? '').join('');
      assert.ok(text.endsWith(TRUNCATION_NOTE), 'the kept text ends with the truncation note');
      assert.equal(text.length, DEFAULT_LIMITS.maxOutputChars + TRUNCATION_NOTE.length, 'exactly the cap is kept');
      if (path === '/print.ipynb') assert.ok(text.startsWith('éyyy'), 'non-ASCII text survives the byte path');
      assert.deepEqual(await server.kernels(), []);
      process.stdout.write(
        `# ${name}: peak RSS growth ${growthMb.toFixed(1)} MB (${(growthMb / CAP_MB).toFixed(2)}× the cap)\n`,
      );
    });
  }

  test('control again: a trivial run after them grows far less', { timeout: 60_000 }, async () => {
    const { final, growthMb } = await measured('/trivial.ipynb');
    assert.equal(final.record.status, 'succeeded');
    assert.ok(growthMb < CAP_MB / 2, `a trivial run grew the peak by ${growthMb.toFixed(1)} MB`);
  });
});
