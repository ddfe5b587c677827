/** CPU seconds from /proc: a busy child's CPU is seen in this process's reaped-children count. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { childrenCpuSeconds, cpuSeconds } from '../../../bench/proc-cpu.js';

const linux = existsSync('/proc/self/stat') ? false : 'no /proc here (not Linux)';

test("a child that spins 0.5 s of CPU adds about that to the children's count", { skip: linux }, async () => {
  const before = childrenCpuSeconds();
  const spin = 'const end = process.cpuUsage().user + 500000; while (process.cpuUsage().user < end);';
  await promisify(execFile)(process.execPath, ['-e', spin]);
  const used = childrenCpuSeconds() - before;
  assert.ok(used >= 0.45 && used < 5, `the child used ${used} s`);
});

test('cpuSeconds(pid) grows while that process computes', { skip: linux }, () => {
  const before = cpuSeconds(process.pid);
  const end = process.cpuUsage().user + 200_000;
  while (process.cpuUsage().user < end);
  assert.ok(cpuSeconds(process.pid) - before >= 0.15);
});
