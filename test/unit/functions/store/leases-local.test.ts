/**
 * The local lease store on a real temp folder: claim / running / done, expiry and takeover,
 * release and renew fencing, the overlap lock (skip, queue, allow), and races — concurrent claims
 * in one process and across child processes, for a fresh key and for an expired lease.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { LocalLeaseStore } from '../../../../functions/store/leases-local.js';
import {
  dedupeKey,
  leaseId,
  lockKey,
  pollDelay,
  viewLease,
  type ClaimResult,
} from '../../../../functions/store/leases-store.js';
import { openLeaseStore } from '../../../../functions/store/open-stores.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'nbt-leases-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const states = (rs: ClaimResult[]): string[] => rs.map((r) => r.state).sort();

test('pure rules: keys, ids, lease views, poll delays', () => {
  assert.equal(dedupeKey({ runKey: 'k', messageId: 'm' }), 'run:k');
  assert.equal(dedupeKey({ messageId: 'm' }), 'msg:m');
  assert.equal(dedupeKey({}), undefined);
  assert.equal(lockKey('daily'), 'lock:daily');
  assert.match(leaseId('msg:123'), /^msg_123-[0-9a-f]{32}$/);
  assert.notEqual(leaseId('a/b'), leaseId('a_b'), 'sanitising never merges keys');
  assert.match(leaseId('../..'), /^[0-9a-f]{32}$/);
  assert.match(leaseId('__x__'), /^x__-[0-9a-f]{32}$/);
  assert.throws(() => leaseId(''), TypeError);
  assert.equal(viewLease(undefined, 5), 'free');
  assert.equal(viewLease({ state: 'running', expiresAtMs: 10 }, 9), 'live');
  assert.equal(viewLease({ state: 'running', expiresAtMs: 10 }, 10), 'expired');
  assert.equal(viewLease({ state: 'done', expiresAtMs: 0 }, 99), 'done');
  assert.equal(
    pollDelay(1000, 50, () => 1),
    50,
  );
  assert.equal(
    pollDelay(1000, 5000, () => 0),
    800,
  );
  assert.ok(Math.abs(pollDelay(1000, 5000, () => 1) - 1200) < 1e-9);
});

test('claim → running for others → complete → done with the record ref', async () => {
  const a = new LocalLeaseStore({ root, holder: 'A' });
  const b = new LocalLeaseStore({ root, holder: 'B' });
  const first = await a.claim('msg:1', 60_000);
  assert.equal(first.state, 'claimed');
  const second = await b.claim('msg:1', 60_000);
  assert.equal(second.state, 'running');
  assert.equal(second.state === 'running' && second.holder, 'A');
  assert.equal((await a.claim('msg:1', 60_000)).state, 'running', 'the holder itself does not claim twice');
  assert.equal(await b.release('msg:1'), false, 'B holds nothing');
  await a.complete('msg:1', 'runs/daily/x.json');
  const third = await b.claim('msg:1', 60_000);
  assert.deepEqual(
    { ...third, completedAt: undefined },
    { state: 'done', key: 'msg:1', recordRef: 'runs/daily/x.json', completedAt: undefined },
  );
  assert.equal(await a.release('msg:1'), false, 'release never undoes done');
  assert.equal((await b.claim('msg:1', 60_000)).state, 'done');
});

test('release frees a key for a retry; a stale token cannot release a newer lease', async () => {
  const a = new LocalLeaseStore({ root, holder: 'A' });
  const b = new LocalLeaseStore({ root, holder: 'B' });
  const c = await a.claim('msg:2', 60_000);
  assert.equal(c.state, 'claimed');
  assert.equal(await a.release('msg:2'), true);
  const again = await b.claim('msg:2', 60_000);
  assert.equal(again.state, 'claimed');
  assert.equal(await a.release('msg:2', c.state === 'claimed' ? c.token : ''), false);
  assert.equal((await a.claim('msg:2', 60_000)).state, 'running');
});

test('an expired lease (crashed holder) is taken over; the old holder is fenced off', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock = () => now;
  const crashed = new LocalLeaseStore({ root, holder: 'crashed', now: clock });
  const next = new LocalLeaseStore({ root, holder: 'next', now: clock });
  const old = await crashed.claim('msg:3', 1000);
  assert.equal(old.state, 'claimed');
  now += 999;
  assert.equal((await next.claim('msg:3', 1000)).state, 'running');
  now += 1;
  const taken = await next.claim('msg:3', 1000);
  assert.equal(taken.state, 'claimed');
  assert.equal(await crashed.renew('msg:3', 5000), false, 'old holder cannot renew');
  assert.equal(await crashed.release('msg:3'), false, 'old holder cannot release the new lease');
  assert.equal((await crashed.claim('msg:3', 1000)).state, 'running');
  const files = (await readdir(join(root, leaseId('msg:3')))).filter((n) => !n.startsWith('.'));
  assert.deepEqual(files, ['g000000001.json'], 'older generations cleaned up');
  now += 900;
  assert.equal(await next.renew('msg:3', 1000), true);
  now += 900;
  assert.equal((await crashed.claim('msg:3', 1000)).state, 'running', 'renewed lease still live');
  // A late complete from the old holder still counts: the effect happened.
  await crashed.complete('msg:3', 'late');
  const done = await next.claim('msg:3', 1000);
  assert.equal(done.state === 'done' && done.recordRef, 'late');
});

test('5 concurrent claims of one key in one process: exactly one claimed (20 rounds)', async () => {
  for (let round = 0; round < 20; round++) {
    const stores = Array.from({ length: 5 }, (_, i) => new LocalLeaseStore({ root, holder: `h${i}` }));
    const rs = await Promise.all(stores.map((s) => s.claim(`race:${round}`, 60_000)));
    assert.deepEqual(states(rs), ['claimed', 'running', 'running', 'running', 'running'], `round ${round}`);
  }
});

const CHILD = `
const { LocalLeaseStore } = await import(process.env.NBT_MODULE);
const s = new LocalLeaseStore({ root: process.env.NBT_ROOT, holder: 'pid' + process.pid });
await new Promise((r) => setTimeout(r, Math.max(0, Number(process.env.NBT_AT) - Date.now())));
const rs = await Promise.all([0, 1, 2].map(() => s.claim(process.env.NBT_KEY, 60000)));
process.stdout.write(JSON.stringify(rs.map((r) => r.state)));
`;

async function raceChildren(key: string, n: number): Promise<string[]> {
  const module = new URL('../../../../functions/store/leases-local.js', import.meta.url).href;
  const at = String(Date.now() + 600); // all start together, after node has loaded
  const outs = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<string[]>((res, rej) => {
          execFile(
            process.execPath,
            ['--input-type=module', '-e', CHILD],
            {
              env: { ...process.env, NBT_MODULE: module, NBT_ROOT: root, NBT_AT: at, NBT_KEY: key },
              timeout: 30_000,
            },
            (err, stdout, stderr) =>
              err ? rej(new Error(`${err.message}\n${stderr}`)) : res(JSON.parse(stdout) as string[]),
          );
        }),
    ),
  );
  return outs.flat().sort();
}

test('5 child processes × 3 claims race for one key: exactly one claimed', async () => {
  for (let round = 0; round < 3; round++) {
    const all = await raceChildren(`proc:${round}`, 5);
    assert.equal(all.length, 15);
    assert.deepEqual(
      all.filter((s) => s === 'claimed'),
      ['claimed'],
      `round ${round}: ${all.join(',')}`,
    );
    assert.ok(all.every((s) => s === 'claimed' || s === 'running'));
  }
});

test('5 child processes race to take over one expired lease: exactly one claimed', async () => {
  for (let round = 0; round < 3; round++) {
    const key = `takeover:${round}`;
    const crashed = new LocalLeaseStore({ root, holder: 'crashed' });
    assert.equal((await crashed.claim(key, 1)).state, 'claimed');
    await sleep(5);
    const all = await raceChildren(key, 5);
    assert.deepEqual(
      all.filter((s) => s === 'claimed'),
      ['claimed'],
      `round ${round}: ${all.join(',')}`,
    );
  }
});

test('overlap lock: allow never blocks, skip answers skipped, queue waits (bounded)', async () => {
  const a = await openLeaseStore({ kind: 'local', root });
  const b = new LocalLeaseStore({ root, holder: 'B' });
  const first = await a.lock('nightly', { mode: 'skip', ttlMs: 60_000 });
  assert.equal(first.state, 'acquired');
  const skipped = await b.lock('nightly', { mode: 'skip', ttlMs: 60_000 });
  assert.equal(skipped.state, 'skipped');
  assert.equal(skipped.state === 'skipped' && skipped.holder, a.holder);
  assert.equal((await b.lock('nightly', { mode: 'allow', ttlMs: 60_000 })).state, 'acquired');

  const t0 = Date.now();
  const timedOut = await b.lock('nightly', { mode: 'queue', ttlMs: 60_000, waitMs: 300, pollMs: 50 });
  const waited = Date.now() - t0;
  assert.equal(timedOut.state, 'timed_out');
  assert.ok(waited >= 300 && waited < 2000, `waited ${waited} ms`);

  const queued = b.lock('nightly', { mode: 'queue', ttlMs: 60_000, waitMs: 5000, pollMs: 30 });
  await sleep(200);
  assert.equal(first.state === 'acquired' && (await first.release()), true);
  const got = await queued;
  assert.equal(got.state, 'acquired', 'queued run starts once the first is released');
  assert.equal((await a.lock('nightly', { mode: 'skip', ttlMs: 60_000 })).state, 'skipped');
  assert.equal(got.state === 'acquired' && (await got.release()), true);
  assert.equal((await a.lock('nightly', { mode: 'skip', ttlMs: 60_000 })).state, 'acquired');
  await assert.rejects(a.lock('x', { mode: 'bogus' as 'skip', ttlMs: 1 }), TypeError);
});

test('prune removes old done keys and released (empty) folders only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbt-prune-'));
  let now = Date.parse('2026-01-01T00:00:00Z');
  const s = new LocalLeaseStore({ root: dir, now: () => now });
  await s.claim('done-old', 1000);
  await s.complete('done-old', 'r');
  await s.claim('released', 1000);
  await s.release('released');
  now += 10 * 86_400_000;
  await s.claim('running', 1000);
  await s.claim('done-new', 1000);
  await s.complete('done-new', 'r');
  assert.equal(await s.prune(7 * 86_400_000), 2);
  assert.deepEqual((await readdir(dir)).sort(), [leaseId('done-new'), leaseId('running')].sort());
  assert.equal((await s.claim('done-new', 1000)).state, 'done');
  await rm(dir, { recursive: true, force: true });
});

test('peek: free, live, expired, done, claiming nothing', async () => {
  let now = 1_000_000;
  const a = new LocalLeaseStore({ root: join(root, 'peek'), now: () => now });
  const b = new LocalLeaseStore({ root: join(root, 'peek'), now: () => now });
  assert.equal(await a.peek('run:k'), 'free');
  assert.equal((await a.claim('run:k', 1000)).state, 'claimed');
  assert.equal(await b.peek('run:k'), 'live');
  now += 1000;
  assert.equal(await b.peek('run:k'), 'expired', 'its holder stopped renewing');
  assert.equal((await b.claim('run:k', 1000)).state, 'claimed', 'peek took nothing');
  await b.complete('run:k', 'r1');
  assert.equal(await a.peek('run:k'), 'done');
});
