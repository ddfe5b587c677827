/**
 * The local run store on a real temp folder: save/get/list with every filter, atomic writes,
 * unreadable files skipped, and listings of thousands of runs that open only the files they need.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LocalRunStore } from '../../../../functions/store/runs-local.js';
import { sampleRun } from './fixtures.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'nbt-runs-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const at = (minute: number): string => new Date(Date.UTC(2026, 0, 21, 10, minute)).toISOString();

test('save writes one JSON file beside the notebook outputs, atomically; get reads it back', async () => {
  const store = new LocalRunStore({ root: join(root, 'a') });
  const run = sampleRun({
    runId: 'run-1',
    parameters: { n: 1, s: 'é"\\' },
    outputs: { notebook: 'runs/daily/x.ipynb' },
    messageId: 'm1',
  });
  const ref = await store.save(run);
  assert.equal(ref.location, join(root, 'a', 'daily', '2026-01-21T23-49-30.123Z-run-1.json'));
  assert.deepEqual(JSON.parse(await readFile(ref.location, 'utf8')), run);
  assert.deepEqual(
    await readdir(join(root, 'a', 'daily')),
    ['2026-01-21T23-49-30.123Z-run-1.json'],
    'no temp file left',
  );
  assert.deepEqual(await store.get('run-1'), run);
  assert.equal(await store.get('run-2'), undefined);
  // Saving again replaces (a record updated after a sink failure, say).
  await store.save({ ...run, warnings: ['sink failed'] });
  assert.deepEqual((await store.get('run-1'))?.warnings, ['sink failed']);
  await assert.rejects(store.save({ ...run, runId: '../evil' }), TypeError);
});

test('list: newest first, filtered by notebook (name or path), status, time; limited', async () => {
  const store = new LocalRunStore({ root: join(root, 'b') });
  const statuses = ['succeeded', 'failed', 'error', 'timed_out'] as const;
  for (let i = 0; i < 12; i++) {
    await store.save(
      sampleRun({
        runId: `r${String(i).padStart(2, '0')}`,
        startedAt: at(i),
        status: statuses[i % 4]!,
        notebook: i % 3 === 0 ? '/other/daily.ipynb' : i % 3 === 1 ? '/reports/daily.ipynb' : '/weekly.ipynb',
      }),
    );
  }
  const ids = (rs: { runId: string }[]): string[] => rs.map((r) => r.runId);
  assert.deepEqual(ids(await store.list()), [
    'r11',
    'r10',
    'r09',
    'r08',
    'r07',
    'r06',
    'r05',
    'r04',
    'r03',
    'r02',
    'r01',
    'r00',
  ]);
  assert.deepEqual(ids(await store.list({ limit: 3 })), ['r11', 'r10', 'r09']);
  assert.deepEqual(ids(await store.list({ notebook: 'weekly' })), ['r11', 'r08', 'r05', 'r02']);
  assert.deepEqual(ids(await store.list({ notebook: 'daily' })), [
    'r10',
    'r09',
    'r07',
    'r06',
    'r04',
    'r03',
    'r01',
    'r00',
  ]);
  assert.deepEqual(ids(await store.list({ notebook: '/reports/daily.ipynb' })), ['r10', 'r07', 'r04', 'r01']);
  assert.deepEqual(ids(await store.list({ status: 'failed' })), ['r09', 'r05', 'r01']);
  assert.deepEqual(ids(await store.list({ status: ['failed', 'error'], notebook: 'daily', limit: 2 })), ['r10', 'r09']);
  assert.deepEqual(ids(await store.list({ since: at(3), until: at(6) })), ['r05', 'r04', 'r03']);
  assert.deepEqual(ids(await store.list({ notebook: 'nope' })), []);
  assert.deepEqual(await new LocalRunStore({ root: join(root, 'missing') }).list(), []);
});

test('unreadable or foreign files are skipped and reported', async () => {
  const dir = join(root, 'c');
  const seen: string[] = [];
  const store = new LocalRunStore({ root: dir, onUnreadable: (p) => seen.push(p) });
  await store.save(sampleRun({ runId: 'good', startedAt: at(1) }));
  await writeFile(join(dir, 'daily', '2026-01-21T10-02-00.000Z-bad.json'), '{ half');
  await writeFile(join(dir, 'daily', 'README.txt'), 'not a record');
  await writeFile(join(dir, 'daily', '.2026-01-21T10-03-00.000Z-tmp.json.1.ab.tmp'), '{}');
  assert.deepEqual(
    (await store.list()).map((r) => r.runId),
    ['good'],
  );
  assert.deepEqual(seen, [join(dir, 'daily', '2026-01-21T10-02-00.000Z-bad.json')]);
});

test('concurrent saves of different runs all land', async () => {
  const store = new LocalRunStore({ root: join(root, 'd') });
  await Promise.all(
    Array.from({ length: 50 }, (_, i) => store.save(sampleRun({ runId: `c${i}`, startedAt: at(i % 60) }))),
  );
  assert.equal((await store.list({ limit: 1000 })).length, 50);
});

test('listing 3000 runs over 10 notebooks reads only the files it returns (names filter first)', async () => {
  // What keeps a listing cheap is how many record files it opens, not the clock: every file the
  // listing must not need is overwritten with garbage, and a read of one of them would be reported.
  const dir = join(root, 'perf');
  const unreadable: string[] = [];
  const store = new LocalRunStore({ root: dir, onUnreadable: (p) => unreadable.push(p) });
  for (let b = 0; b < 30; b++) {
    await Promise.all(
      Array.from({ length: 100 }, (_, j) => {
        const i = b * 100 + j;
        return store.save(
          sampleRun({
            runId: `p${i}`,
            notebook: `/nb${i % 10}.ipynb`,
            startedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
            status: i % 7 === 0 ? 'failed' : 'succeeded',
          }),
        );
      }),
    );
  }
  const poison = async (keep: (runId: string, notebook: string) => boolean): Promise<void> => {
    for (const nb of await readdir(dir)) {
      for (const f of await readdir(join(dir, nb))) {
        const runId = /-(p\d+)\.json$/.exec(f)?.[1];
        if (runId !== undefined && !keep(runId, nb)) await writeFile(join(dir, nb, f), '{ garbage');
      }
    }
  };
  const n = (runId: string): number => Number(runId.slice(1));
  // The newest 20 across all notebooks: only files of runs 2980..2999 may be opened.
  await poison((runId) => n(runId) >= 2980);
  const newest = await store.list({ limit: 20 });
  assert.deepEqual(
    newest.map((r) => r.runId),
    Array.from({ length: 20 }, (_, i) => `p${2999 - i}`),
  );
  assert.deepEqual(unreadable, [], 'list opened files older than the 20 it returned');
  // By id: only that run's file (the other 19 kept files are poisoned now too).
  await poison((runId) => runId === 'p2990');
  assert.equal((await store.get('p2990'))?.runId, 'p2990');
  assert.deepEqual(unreadable, [], "get opened another run's file");
  // A notebook filter reads only that notebook's folder: every other folder is garbage (nb3 is whole again).
  for (let i = 3; i < 3000; i += 10) {
    await store.save(
      sampleRun({
        runId: `p${i}`,
        notebook: '/nb3.ipynb',
        startedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
        status: i % 7 === 0 ? 'failed' : 'succeeded',
      }),
    );
  }
  const failed = await store.list({ notebook: 'nb3', status: 'failed', limit: 10 });
  assert.equal(failed.length, 10);
  assert.ok(failed.every((r) => r.notebook === '/nb3.ipynb' && r.status === 'failed'));
  assert.deepEqual(unreadable, [], "a notebook filter opened another notebook's files");
  // The check can fail: a listing without the filter does reach the garbage.
  await store.list({ limit: 40 });
  assert.ok(unreadable.length > 0);
});
