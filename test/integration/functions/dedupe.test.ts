/**
 * Exactly-once effect and no overlap, through the served function and a real Jupyter server:
 * the same message delivered 5 times at once runs once (the others retry while it runs, or are
 * acknowledged as duplicates once it is done); a runKey dedupes across message ids; two firings of
 * a `skip` schedule give one run and one skip record; `queue` runs them one after the other; a
 * transient failure gives the key back. The local store, then the Firestore store on Google's
 * Firestore emulator (skipped with a notice where it is missing; required under CI=true).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  binaryEvent,
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
} from '../../helpers/functions-framework.js';
import {
  firestoreUnavailableReason,
  skipUnlessFirestore,
  startFirestoreEmulator,
  type FirestoreEmulator,
} from '../../helpers/firestore-emulator.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';

const SLOW = ['import time\ntime.sleep(1.5)', '"done"'];

async function deliver(
  ff: FunctionServer,
  text: string,
  messageId: string,
  attributes: Record<string, string> = {},
): Promise<{ status: number; final: FinalLine }> {
  const req = binaryEvent({ text, messageId, attributes });
  const res = await ff.post(req);
  const final = (await ff.waitForLine((l) => l.eventId === req.id && isFinal(l), 30_000)) as FinalLine;
  return { status: res.status, final };
}

function suite(name: string, env: () => Promise<Record<string, string>>, skip?: () => string | undefined): void {
  describe(`dedupe and overlap (${name} store)`, { timeout: 180_000 }, () => {
    let jup: TestServer;
    let ff: FunctionServer;
    let runsDir: string;

    before(async () => {
      if (skip?.()) return;
      jup = await startTestServer();
      await jup.writeNotebook('slow.ipynb', SLOW);
      const extra = await env();
      ff = await startFunctionServer({ env: { JUPYTER_TOKEN: jup.token, ...extra } });
      runsDir = extra.NBTRIGGER_RUNS_DIR ?? '';
    });
    after(async () => {
      await ff?.stop();
      await jup?.close();
    });

    test('the same message delivered 5 times at once runs once', async (t) => {
      if (skip && skipUnlessFirestore(t, skip())) return;
      const id = `dup-${Date.now()}`;
      const results = await Promise.all(
        Array.from({ length: 5 }, () => deliver(ff, `${jup.hostPort} /slow.ipynb`, id)),
      );
      const ran = results.filter((r) => r.final.record.status === 'succeeded');
      assert.equal(
        ran.length,
        1,
        JSON.stringify(results.map((r) => [r.status, r.final.record.status, r.final.record.error?.code])),
      );
      for (const r of results.filter((x) => x !== ran[0])) {
        // Still running: retry later (never run twice, never lose it); already done: acked duplicate.
        // Either way the final line says it is a duplicate.
        assert.equal(r.final.duplicate, true, JSON.stringify(r.final));
        const ok =
          (r.status === 500 && r.final.record.error?.code === 'IN_PROGRESS' && r.final.severity === 'NOTICE') ||
          (r.status === 204 &&
            r.final.record.status === 'skipped' &&
            (r.final.record.skip as { reason: string }).reason === 'duplicate');
        assert.ok(ok, JSON.stringify(r));
      }
      const again = await deliver(ff, `${jup.hostPort} /slow.ipynb`, id);
      assert.equal(again.status, 204);
      assert.equal(again.final.record.status, 'skipped');
      assert.match(String((again.final.record.skip as { detail: string }).detail), /already ran/);
      assert.deepEqual(await jup.kernels(), []);
    });

    test('a runKey dedupes across message ids', async (t) => {
      if (skip && skipUnlessFirestore(t, skip())) return;
      const text = JSON.stringify({ server: jup.hostPort, notebook: '/slow.ipynb', runKey: `daily-${Date.now()}` });
      const first = await deliver(ff, text, `k1-${Date.now()}`);
      assert.equal(first.final.record.status, 'succeeded');
      const second = await deliver(ff, text, `k2-${Date.now()}`);
      assert.equal(second.status, 204);
      assert.equal(second.final.record.status, 'skipped');
    });

    test('two firings of a skip schedule: one run, one skip record', async (t) => {
      if (skip && skipUnlessFirestore(t, skip())) return;
      const attrs = { 'nbtrigger-schedule': `sched-skip-${Date.now()}`, 'nbtrigger-concurrency': 'skip' };
      const firstP = deliver(ff, `${jup.hostPort} /slow.ipynb`, `s1-${Date.now()}`, attrs);
      await new Promise((r) => setTimeout(r, 700));
      const second = await deliver(ff, `${jup.hostPort} /slow.ipynb`, `s2-${Date.now()}`, attrs);
      const first = await firstP;
      assert.equal(first.final.record.status, 'succeeded');
      assert.equal(second.status, 204);
      assert.equal(second.final.record.status, 'skipped');
      assert.equal((second.final.record.skip as { reason: string }).reason, 'overlap');
      if (runsDir) {
        const files = (await readdir(join(runsDir, 'slow'))).filter((f) => f.endsWith('.json'));
        const statuses = await Promise.all(
          files.map(
            async (f) =>
              JSON.parse(await readFile(join(runsDir, 'slow', f), 'utf8')) as { status: string; schedule?: string },
          ),
        );
        assert.ok(
          statuses.some((s) => s.status === 'skipped' && s.schedule === attrs['nbtrigger-schedule']),
          'the skip is recorded',
        );
      }
      // Once the first is over, the schedule fires again normally.
      const third = await deliver(ff, `${jup.hostPort} /slow.ipynb`, `s3-${Date.now()}`, attrs);
      assert.equal(third.final.record.status, 'succeeded');
    });

    test('a queue schedule waits for the running firing, then runs', async (t) => {
      if (skip && skipUnlessFirestore(t, skip())) return;
      const attrs = { 'nbtrigger-schedule': `sched-queue-${Date.now()}`, 'nbtrigger-concurrency': 'queue' };
      const [a, b] = await Promise.all([
        deliver(ff, `${jup.hostPort} /slow.ipynb`, `q1-${Date.now()}`, attrs),
        new Promise((r) => setTimeout(r, 300)).then(() =>
          deliver(ff, `${jup.hostPort} /slow.ipynb`, `q2-${Date.now()}`, attrs),
        ),
      ]);
      assert.equal(a.final.record.status, 'succeeded');
      assert.equal(b.final.record.status, 'succeeded');
      const [first, second] = [a, b].sort(
        (x, y) => Date.parse(String(x.final.record.startedAt)) - Date.parse(String(y.final.record.startedAt)),
      );
      const firstEnd = Date.parse(String(first!.final.record.startedAt)) + Number(first!.final.record.durationMs);
      assert.ok(
        Date.parse(String(second!.final.record.startedAt)) >= firstEnd - 50,
        'the queued run started after the first ended',
      );
    });

    test('a transient failure gives the key back: the redelivery is tried again, not deduped', async (t) => {
      if (skip && skipUnlessFirestore(t, skip())) return;
      const id = `tr-${Date.now()}`;
      const text = JSON.stringify({ server: '127.0.0.1:9', notebook: '/slow.ipynb', timeouts: { startSeconds: 0.5 } });
      const a = await deliver(ff, text, id);
      const b = await deliver(ff, text, id);
      for (const r of [a, b]) {
        assert.equal(r.status, 500);
        assert.equal(r.final.record.error?.code, 'SERVER_UNREACHABLE');
      }
    });
  });
}

suite('local', async () => ({ NBTRIGGER_RUNS_DIR: await mkdtemp(join(tmpdir(), 'nbtrigger-dedupe-')) }));

let emulator: FirestoreEmulator | undefined;
suite(
  'firestore',
  async () => {
    emulator = await startFirestoreEmulator();
    return {
      NBTRIGGER_STORE: 'firestore',
      FIRESTORE_EMULATOR_HOST: emulator.host,
      GOOGLE_CLOUD_PROJECT: emulator.project,
    };
  },
  firestoreUnavailableReason,
);
after(async () => emulator?.stop());
