/**
 * Concurrency and memory (docs/benchmarks.md), through one functions-framework process against one
 * Jupyter server: after a warm-up run, one run alone, then N (20) runs at once (total wall time,
 * peak RSS and its growth, with VmHWM reset before each, so the process's start is not what is
 * read); and, in a
 * fresh process, a cell printing ≈50 MB (50 × 1 MB flushed chunks) against the per-cell output
 * cap (default 16 Mi characters): the process's peak RSS during that run (the kernel's peak,
 * `VmHWM`, reset just before it) and its growth over the RSS it had after a trivial run; then a
 * trivial run's own growth, measured the same way, as a control. And N (50) isolated runs at once
 * through one function process ({@link isolatedRuns}): what an instance with a concurrency above 1
 * carries, with the longest event-loop stall it had.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { PROJECT_ROOT } from '../cli/project-root.js';
import { DEFAULT_LIMITS } from '../functions/run/runner.js';
import type { BenchServer } from './contenders.js';
import { startFunctionProcess } from './function-process.js';
import type { BenchNotebook } from './notebooks.js';
import { nowMs } from './stats.js';

/** The output cap in MB (characters of ASCII text are bytes). */
export const OUTPUT_CAP_MB = DEFAULT_LIMITS.maxOutputChars / 2 ** 20;

/** One run alone, then `n` at once, in one function process. */
export function concurrentRuns(
  server: BenchServer,
  nb: BenchNotebook,
  n: number,
  root = PROJECT_ROOT,
): () => Promise<Record<string, number>> {
  return async () => {
    const fn = await startFunctionProcess(root, server);
    try {
      await fn.event(nb.serverPath); // modules loaded: the process's start is not measured below
      // Each peak is the peak since just before it (VmHWM reset), not the process's peak ever.
      fn.resetPeak();
      const idle = fn.memory().rssMb;
      const one = await fn.event(nb.serverPath);
      const alone = fn.memory();
      fn.resetPeak();
      const idleMany = fn.memory().rssMb;
      const t = nowMs();
      await Promise.all(Array.from({ length: n }, () => fn.event(nb.serverPath)));
      const total = nowMs() - t;
      const many = fn.memory();
      return {
        [`function 1 run (${nb.label})`]: one,
        [`function ${n} runs at once total (${nb.label})`]: total,
        'function peak RSS 1 run MB': alone.peakMb,
        [`function peak RSS ${n} runs at once MB`]: many.peakMb,
        'function peak RSS growth 1 run MB': alone.peakMb - idle,
        [`function peak RSS growth ${n} runs at once MB`]: many.peakMb - idleMany,
      };
    } finally {
      await fn.stop();
    }
  };
}

/** A trivial run (modules loaded), then the big-output notebook: peak RSS and its growth. */
export function bigOutput(
  server: BenchServer,
  trivial: BenchNotebook,
  big: BenchNotebook,
  root = PROJECT_ROOT,
): () => Promise<Record<string, number>> {
  return async () => {
    const fn = await startFunctionProcess(root, server);
    try {
      await fn.event(trivial.serverPath);
      // The peak from here on, not the process's peak ever (its start and first run set that).
      const measured = fn.resetPeak();
      const before = fn.memory();
      const ms = await fn.event(big.serverPath);
      const after = fn.memory();
      // A control: a trivial run's own peak growth, measured the same way.
      fn.resetPeak();
      const idle = fn.memory();
      await fn.event(trivial.serverPath);
      const control = fn.memory();
      if (!measured) return { [`function ${big.label} run`]: ms };
      return {
        [`function ${big.label} run`]: ms,
        [`function ${big.label} peak RSS MB`]: after.peakMb,
        [`function ${big.label} peak RSS growth MB`]: after.peakMb - before.rssMb,
        [`function ${trivial.label} run after it, peak RSS growth MB`]: control.peakMb - idle.rssMb,
      };
    } finally {
      await fn.stop();
    }
  };
}

/**
 * `n` runs at once through one function process, each with its own parameter: every run must
 * succeed with its own tag and its own kernel pid (nothing one run defines reaches another), and
 * no kernel may be left. Measures the total against one run, the peak RSS, and the longest
 * event-loop stall the process had meanwhile (loop-stall-probe.ts). Throws when isolation fails.
 */
export function isolatedRuns(
  server: BenchServer,
  notebookDir: string,
  n: number,
  serverPid?: number,
  root = PROJECT_ROOT,
): () => Promise<Record<string, number>> {
  return async () => {
    const path = await writeIsolationNotebook(notebookDir);
    const fn = await startFunctionProcess(root, server, {}, { stallProbe: true });
    // The function runs on an instance of its own, the kernels on the server's: with two CPUs or
    // more, the function is held to the first and the server (with the kernels it starts) to the
    // others, so a stall measured is the function's own, not fifty kernel starts taking its CPU.
    const pinned = serverPid !== undefined && pin(fn.pid, '0') && pin(serverPid, `1-${cpus().length - 1}`);
    const message = (tag: number): Record<string, unknown> => ({
      server: `${server.host}:${server.port}`,
      notebook: path,
      parameters: { tag },
    });
    try {
      await fn.eventJson(message(-1)); // modules loaded: the process's start is not measured below
      fn.resetPeak();
      const idle = fn.memory().rssMb;
      await fn.loopStall();
      const one = await fn.eventJson(message(-2));
      const oneStall = (await fn.loopStall())!;
      fn.resetPeak();
      const t = nowMs();
      await Promise.all(Array.from({ length: n }, (_, i) => fn.eventJson(message(i))));
      const total = nowMs() - t;
      const stall = (await fn.loopStall())!;
      const many = fn.memory();
      await checkIsolation(fn.runsDir, n);
      const left = await kernelCount(server);
      if (left !== 0) throw new Error(`${left} kernels left on the server after ${n} runs at once`);
      return {
        'function 1 isolated run': one,
        [`function ${n} isolated runs at once total`]: total,
        [`function peak RSS growth ${n} isolated runs at once MB`]: many.peakMb - idle,
        'function event-loop stall max, 1 run': oneStall.maxMs,
        [`function event-loop stall max, ${n} runs at once`]: stall.maxMs,
        [`function event-loop stall p99, ${n} runs at once`]: stall.p99Ms,
        'function and server on CPUs of their own (1 = yes)': pinned ? 1 : 0,
      };
    } finally {
      await fn.stop();
      if (pinned) pin(serverPid, `0-${cpus().length - 1}`);
    }
  };
}

/** Sets the CPUs of a process and all its threads (`taskset`); false where that cannot be done. */
export function pin(pid: number, cpuList: string): boolean {
  if (cpus().length < 2) return false;
  return spawnSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' }).status === 0;
}

async function writeIsolationNotebook(dir: string): Promise<string> {
  const cells = [
    { source: 'tag = -100', tags: ['parameters'] },
    // Anything an earlier run left would be seen here: a global, an environment variable.
    [
      'import os, time',
      'assert "nbt_seen" not in globals() and "NBT_TAG" not in os.environ',
      'nbt_seen = tag',
      'os.environ["NBT_TAG"] = str(tag)',
      'time.sleep(0.2)',
    ].join('\n'),
    'f"{tag}:{os.getpid()}:{os.environ[\'NBT_TAG\']}"',
  ];
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: cells.map((c, i) => {
      const spec = typeof c === 'string' ? { source: c, tags: [] } : c;
      return {
        cell_type: 'code',
        id: `c${i}`,
        metadata: { tags: spec.tags },
        execution_count: null,
        outputs: [],
        source: spec.source,
      };
    }),
  };
  await writeFile(join(dir, 'isolation-many.ipynb'), JSON.stringify(nb));
  return '/isolation-many.ipynb';
}

/** Every record of tags 0…n-1 succeeded once, with its own tag and a kernel pid no other run had. */
async function checkIsolation(runsDir: string, n: number): Promise<void> {
  const seen = new Map<number, string>();
  for (const file of await readdir(runsDir, { recursive: true })) {
    if (!file.endsWith('.json') || file.endsWith('loop-stall.json')) continue;
    const record = JSON.parse(await readFile(join(runsDir, file), 'utf8')) as {
      status?: string;
      runId?: string;
      lastResult?: Record<string, string>;
    };
    if (record.runId === undefined || record.status === undefined) continue; // a lease, not a run record
    const m = /^'(-?\d+):(\d+):(-?\d+)'$/.exec(record.lastResult?.['text/plain'] ?? '');
    if (record.status !== 'succeeded' || !m)
      throw new Error(`a run did not succeed with its own result: ${JSON.stringify(record).slice(0, 400)}`);
    const tag = Number(m[1]);
    if (m[3] !== m[1]) throw new Error(`run ${tag} saw another run's environment: ${m[3]}`);
    if (tag < 0) continue;
    if (seen.has(tag)) throw new Error(`run ${tag} recorded twice`);
    seen.set(tag, m[2]!);
  }
  if (seen.size !== n) throw new Error(`${seen.size} of ${n} runs recorded`);
  if (new Set(seen.values()).size !== n) throw new Error('two runs shared a kernel process');
}

async function kernelCount(server: BenchServer): Promise<number> {
  const res = await request(`http://${server.host}:${server.port}/api/kernels`, {
    headers: { authorization: `token ${server.token}` },
  });
  return ((await res.body.json()) as unknown[]).length;
}
