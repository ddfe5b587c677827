/**
 * Redelivery and overlap through the served function (Pub/Sub delivers at least once; Cloud
 * Scheduler fires on time whatever the previous run is doing): the same message delivered 5 times
 * concurrently runs once, and two firings of a `skip` schedule give one run and one skip record.
 * The running notebook holds its cell open on a gate file until the test has seen what it waits
 * for (the other deliveries answered, the second firing recorded): no test depends on timing.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  binaryEvent,
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
} from '../helpers/functions-framework.js';
import { gatedCell, until, waitForFile } from '../helpers/events.js';
import { startTestServer, type TestServer } from '../helpers/jupyter.js';
import { kernelsLeft, recordRow, T } from './common.js';

let server: TestServer;
let ff: FunctionServer;

before(async () => {
  server = await startTestServer();
  await server.writeNotebook('once.ipynb', [gatedCell('once.running', 'once.go'), '"done"']);
  await server.writeNotebook('overlap.ipynb', [gatedCell('overlap.running', 'overlap.go'), '"done"']);
  ff = await startFunctionServer({ env: { JUPYTER_TOKEN: server.token } });
});
after(async () => {
  await ff?.stop();
  await server?.close();
});

async function deliver(
  notebook: string,
  messageId: string,
  attributes: Record<string, string> = {},
): Promise<{ status: number; final: FinalLine }> {
  const req = binaryEvent({ text: `${server.hostPort} /${notebook}`, messageId, attributes });
  const res = await ff.post(req);
  return {
    status: res.status,
    final: (await ff.waitForLine((l) => l.eventId === req.id && isFinal(l), 60_000)) as FinalLine,
  };
}

test('the same message delivered 5 times concurrently: one run', T, async () => {
  const t0 = Date.now();
  const id = `redelivered-${Date.now()}`;
  let answered = 0;
  const pending = Array.from({ length: 5 }, () =>
    deliver('once.ipynb', id).then((d) => {
      answered++;
      return d;
    }),
  );
  // One delivery runs and holds its cell on the gate; the other four must be answered meanwhile.
  await waitForFile(join(server.rootDir, 'once.running'));
  await until(() => answered >= 4);
  await server.writeFile('once.go', 'go');
  const all = await Promise.all(pending);
  const ran = all.filter((d) => d.final.record.status === 'succeeded').length;
  const retried = all.filter((d) => d.status === 500 && d.final.record.error?.code === 'IN_PROGRESS').length;
  const acked = all.filter((d) => d.status === 204 && d.final.record.status === 'skipped').length;
  assert.equal(ran, 1, JSON.stringify(all.map((d) => [d.status, d.final.record.status])));
  assert.equal(ran + retried + acked, 5);
  // Pub/Sub brings the retried ones back: once the run is done they are acknowledged duplicates.
  const later = await deliver('once.ipynb', id);
  assert.deepEqual([later.status, later.final.record.status], [204, 'skipped']);
  const left = await kernelsLeft(server);
  assert.equal(left, 0);
  recordRow({
    fault: 'same message delivered 5 times at once',
    expected: '1 run; others retry while it runs, then ack as duplicates',
    observed: `${ran} run, ${retried} IN_PROGRESS (retry), ${acked} duplicate (ack); redelivery after: duplicate (ack)`,
    seconds: (Date.now() - t0) / 1000,
    kernelsLeft: left,
  });
});

test('two firings of a skip schedule: one run, one skip record', T, async () => {
  const t0 = Date.now();
  const schedule = `fault-skip-${Date.now()}`;
  const attrs = { 'nbtrigger-schedule': schedule, 'nbtrigger-concurrency': 'skip' };
  const first = deliver('overlap.ipynb', `f1-${Date.now()}`, attrs);
  await waitForFile(join(server.rootDir, 'overlap.running')); // the first firing runs
  const second = await deliver('overlap.ipynb', `f2-${Date.now()}`, attrs);
  await server.writeFile('overlap.go', 'go');
  const one = await first;
  assert.equal(one.final.record.status, 'succeeded');
  assert.deepEqual([second.status, second.final.record.status], [204, 'skipped']);
  const records = await Promise.all(
    (await readdir(join(ff.runsDir, 'overlap')))
      .filter((f) => f.endsWith('.json'))
      .map(
        async (f) =>
          JSON.parse(await readFile(join(ff.runsDir, 'overlap', f), 'utf8')) as {
            status: string;
            schedule?: string;
            skip?: { reason: string };
          },
      ),
  );
  const mine = records.filter((r) => r.schedule === schedule);
  assert.deepEqual(mine.map((r) => r.status).sort(), ['skipped', 'succeeded']);
  assert.equal(mine.find((r) => r.status === 'skipped')?.skip?.reason, 'overlap');
  const left = await kernelsLeft(server);
  assert.equal(left, 0);
  recordRow({
    fault: 'two firings of a skip schedule',
    expected: '1 run + 1 skip record (ack)',
    observed: `records: ${mine
      .map((r) => r.status)
      .sort()
      .join(' + ')}; second HTTP ${second.status}`,
    seconds: (Date.now() - t0) / 1000,
    kernelsLeft: left,
  });
});
