/**
 * The Firestore run store against Google's real Firestore emulator (started once for this file):
 * round-trips of awkward records, the 1 MiB cap, and the same query table answered identically by
 * the Firestore store and the local store. Skips with a notice when gcloud/the emulator is
 * missing, except under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Firestore } from '@google-cloud/firestore';
import { createFirestore } from '../../../../functions/store/firestore-client.js';
import { FirestoreRunStore } from '../../../../functions/store/runs-firestore.js';
import { LocalRunStore } from '../../../../functions/store/runs-local.js';
import { openRunStore } from '../../../../functions/store/open-stores.js';
import type { RunQuery, StoredRun } from '../../../../functions/store/runs-store.js';
import { sampleRun } from '../../../unit/functions/store/fixtures.js';
import {
  skipUnlessFirestore,
  startFirestoreEmulator,
  type FirestoreEmulator,
} from '../../../helpers/firestore-emulator.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 21, 10, minute)).toISOString();

test('Firestore run store on the emulator', { timeout: 120_000 }, async (t) => {
  if (skipUnlessFirestore(t)) return;
  let emu: FirestoreEmulator | undefined;
  let db: Firestore | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'nbt-runs-fs-'));
  t.after(async () => {
    await db?.terminate();
    await emu?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  emu = await startFirestoreEmulator({ project: 'nbt-runs' });
  console.log(`Firestore emulator ready in ${emu.startMs} ms on ${emu.host}`);
  db = await createFirestore({ emulatorHost: emu.host, projectId: emu.project });
  const sharedDb = db;

  await t.test('save/get round-trips awkward records (nested arrays, MIME keys, unicode, nulls)', async () => {
    const store = new FirestoreRunStore({ db: sharedDb, collection: 'rt' });
    const run = sampleRun({
      runId: 'rt-1',
      messageId: '1234',
      parameters: { m: [[1, 2], [3]], s: 'q"\\\n☃', n: null, o: { 'a.b/c': true } },
      lastResult: {
        'application/json': {
          grid: [
            [1, 2],
            [3, 4],
          ],
        },
        'text/plain': 'grid',
      },
      error: { code: 'CELL_ERROR', message: 'boom', retryable: false, cellIndex: 1, traceback: ['l1', 'l2'] },
      status: 'failed',
      outputs: { notebook: 'gs://b/runs/daily/x.ipynb', html: 'gs://b/runs/daily/x.html' },
      schedule: 'nightly',
    });
    const ref = await store.save(run);
    assert.equal(ref.location, 'rt/rt-1');
    assert.deepEqual(await store.get('rt-1'), run);
    assert.equal(await store.get('missing'), undefined);
    const raw = (await sharedDb.collection('rt').doc('rt-1').get()).data()!;
    assert.equal(raw.notebookName, 'daily');
    assert.equal(raw.notebookPath, 'reports/daily');
    assert.equal(raw.errorCode, 'CELL_ERROR');
    assert.equal(raw.failedCell, 1);
    assert.equal(raw.startedAt.toDate().toISOString(), run.startedAt, 'startedAt is a Timestamp');
    await store.save({ ...run, warnings: ['sink failed'] });
    assert.deepEqual((await store.get('rt-1'))?.warnings, ['sink failed'], 'save replaces');
  });

  await t.test('a record above 1 MiB is stored without its last result, with a warning', async () => {
    const store = new FirestoreRunStore({ db: sharedDb, collection: 'big' });
    await store.save(sampleRun({ runId: 'big-1', lastResult: { 'image/png': 'A'.repeat(1_200_000) } }));
    const got = await store.get('big-1');
    assert.equal(got?.lastResult, undefined);
    assert.match(got!.warnings.join(), /lastResult dropped/);
  });

  await t.test('the query table: Firestore answers exactly what the local store answers', async () => {
    const fsStore = new FirestoreRunStore({ db: sharedDb, collection: 'q' });
    const local = new LocalRunStore({ root: dir });
    const statuses = ['succeeded', 'failed', 'error', 'timed_out'] as const;
    const runs: StoredRun[] = [];
    for (let i = 0; i < 24; i++) {
      runs.push(
        sampleRun({
          runId: `r${String(i).padStart(2, '0')}`,
          startedAt: at(i % 20),
          status: statuses[i % 4]!,
          notebook: i % 3 === 0 ? '/other/daily.ipynb' : i % 3 === 1 ? '/reports/daily.ipynb' : '/weekly.ipynb',
        }),
      );
    }
    await Promise.all(runs.flatMap((r) => [fsStore.save(r), local.save(r)]));
    const queries: RunQuery[] = [
      {},
      { limit: 5 },
      { notebook: 'daily' },
      { notebook: 'weekly', limit: 2 },
      { notebook: '/reports/daily.ipynb' },
      { status: 'failed' },
      { status: ['failed', 'error'] },
      { notebook: 'daily', status: ['succeeded', 'timed_out'] },
      { since: at(5), until: at(9) },
      { notebook: 'daily', status: 'error', since: at(2) },
      { notebook: 'nope' },
    ];
    for (const q of queries) {
      const a = (await fsStore.list(q)).map((r) => r.runId);
      const b = (await local.list(q)).map((r) => r.runId);
      assert.deepEqual(a, b, `query ${JSON.stringify(q)}`);
    }
    // Ties on startedAt (r00 and r20 share a minute) are ordered by runId desc in both.
    assert.deepEqual(
      (await fsStore.list({ since: at(0), until: at(1) })).map((r) => r.runId),
      ['r20', 'r00'],
    );
    assert.equal((await fsStore.list()).length, 24);
  });

  await t.test('openRunStore opens its own client from the connection settings', async () => {
    const store = await openRunStore({
      kind: 'firestore',
      emulatorHost: emu!.host,
      projectId: emu!.project,
      collection: 'own',
    });
    await store.save(sampleRun({ runId: 'own-1' }));
    assert.equal((await store.list())[0]?.runId, 'own-1');
    await store.close();
    // The default collection is nbtrigger_runs.
    const def = new FirestoreRunStore({ db: sharedDb });
    await def.save(sampleRun({ runId: 'def-1' }));
    assert.ok((await sharedDb.collection('nbtrigger_runs').doc('def-1').get()).exists);
  });
});
