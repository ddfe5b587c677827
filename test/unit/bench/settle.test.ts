/** The wait for quiet CPUs before a bench case: /proc/stat parsing, a quiet window, the cap. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CpuTimes, parseProcStat, settle } from '../../../bench/settle.js';

test('parses the aggregate cpu line of /proc/stat (idle + iowait as idle)', () => {
  const text = 'cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\nintr 1 2 3\n';
  assert.deepEqual(parseProcStat(text), { total: 980, idle: 820 });
  assert.equal(parseProcStat('intr 1 2 3\n'), undefined);
  assert.equal(parseProcStat('cpu  1 2 x 4 5\n'), undefined);
});

/** A fake clock and /proc/stat: each window adds `busy[i]` busy and the rest idle jiffies. */
function fake(busy: number[], perWindow = 20) {
  let [t, i] = [0, 0];
  const stat: CpuTimes = { total: 0, idle: 0 };
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
      const b = busy[Math.min(i++, busy.length - 1)]!;
      stat.total += perWindow;
      stat.idle += perWindow - b;
    },
    readStat: async () => ({ ...stat }),
    windows: () => i,
  };
}

test('returns after the first quiet window', async () => {
  const f = fake([20, 15, 1, 20]);
  const r = await settle({ ...f, windowMs: 100 });
  assert.deepEqual(r, { waitedMs: 300, quiet: true });
  assert.equal(f.windows(), 3);
});

test('the cap fires on CPUs that stay busy: the wait ends, marked not quiet', async () => {
  const f = fake([20]);
  const r = await settle({ ...f, windowMs: 100, maxMs: 1000 });
  assert.deepEqual(r, { waitedMs: 1000, quiet: false });
});

test('a window in which no jiffy passed is not taken as quiet', async () => {
  const f = fake([0, 2], 0);
  const r = await settle({ ...f, windowMs: 100, maxMs: 500 });
  assert.equal(r.quiet, false, 'no jiffies at all: never quiet, ends at the cap');
});

test('without /proc/stat nothing is waited for', async () => {
  let slept = 0;
  const r = await settle({ readStat: async () => undefined, sleep: async () => void slept++ });
  assert.deepEqual(r, { waitedMs: 0, quiet: true });
  assert.equal(slept, 0);
});

test('on this machine it ends within its cap', async () => {
  const r = await settle({ maxMs: 300, windowMs: 50 });
  assert.ok(r.waitedMs < 2000, `waited ${r.waitedMs} ms`);
});
