/**
 * One served function carries many runs at once (Cloud Run functions send an instance up to its
 * concurrency setting in parallel: docs/deploy.md). Sixteen messages for one notebook, each with
 * its own parameter, posted together to one functions-framework process: every invocation acks,
 * every record is its own run (its tag, its own kernel process, nothing of another run's globals
 * or environment), and no kernel is left.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  isFinal,
  startFunctionServer,
  structuredEvent,
  type FinalLine,
  type FunctionServer,
} from '../../helpers/functions-framework.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';

const RUNS = 16;
let server: TestServer;
let ff: FunctionServer;

before(async () => {
  server = await startTestServer();
  await server.writeNotebook('many.ipynb', [
    { source: 'tag = -1', tags: ['parameters'] },
    'import os\nassert "seen" not in globals() and "NBT_TAG" not ' +
      'in os.environ\nseen = tag\nos.environ["NBT_TAG"] = str(tag)',
    'f"{tag}:{os.getpid()}:{os.environ[\'NBT_TAG\']}"',
  ]);
  ff = await startFunctionServer({ env: { JUPYTER_TOKEN: server.token } });
});
after(async () => {
  await ff?.stop();
  await server?.close();
});

test(`${RUNS} messages at once through one served function: each run its own, all acked, no kernel left`, {
  timeout: 240_000,
}, async () => {
  const events = Array.from({ length: RUNS }, (_, tag) =>
    structuredEvent({
      text: JSON.stringify({ server: server.hostPort, notebook: '/many.ipynb', parameters: { tag } }),
    }),
  );
  const answers = await Promise.all(events.map((e) => ff.post(e)));
  assert.deepEqual(
    answers.map((a) => a.status),
    Array(RUNS).fill(204),
    answers.map((a) => a.body).join('\n'),
  );
  const pids = new Set<string>();
  for (const [tag, e] of events.entries()) {
    const final = (await ff.waitForLine((l) => l.eventId === e.id && isFinal(l), 10_000)) as FinalLine;
    assert.equal(final.record.status, 'succeeded', JSON.stringify(final.record.error));
    const text = (final.record.lastResult as Record<string, string> | undefined)?.['text/plain'] ?? '';
    const m = /^'(\d+):(\d+):(\d+)'$/.exec(text);
    assert.ok(m, `run ${tag}: ${text}`);
    assert.equal(Number(m[1]), tag, "the result is this run's own");
    assert.equal(m[3], m[1], 'the environment the run saw is its own');
    pids.add(m[2]!);
  }
  assert.equal(pids.size, RUNS, 'every run had its own kernel process');
  assert.deepEqual(await server.kernels(), []);
});
