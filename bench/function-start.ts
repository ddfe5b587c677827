/**
 * Function start (docs/benchmarks.md): the time and memory to import the function module in a bare
 * Node process, and to serve its first event under functions-framework (spawn → listening →
 * first event answered), with the process's RSS after it. Each contender takes a project root,
 * so a baseline checkout can run side by side (`BENCH_BASELINE`).
 * @module
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../cli/project-root.js';
import type { BenchServer } from './contenders.js';
import { timeChild } from './contenders.js';
import { startFunctionProcess } from './function-process.js';
import type { BenchNotebook } from './notebooks.js';

const QUIET_GOOGLE = {
  METADATA_SERVER_DETECTION: 'none',
  GCE_METADATA_HOST: '127.0.0.1:9',
  GCE_METADATA_IP: '127.0.0.1:9',
};

/**
 * `node -e "await import(dist/functions/index.js)"`: import time and RSS after it, and the same
 * process's RSS before.
 */
export function functionImport(root = PROJECT_ROOT, tag = ''): () => Promise<Record<string, number>> {
  const entry = pathToFileURL(join(root, 'dist', 'functions', 'index.js')).href;
  const script = [
    `const rss0 = process.memoryUsage().rss; const t = performance.now(); await import(${JSON.stringify(entry)});`,
    'process.stdout.write(JSON.stringify({ ms: performance.now() - t, rss0, rss: process.memoryUsage().rss }));',
  ].join('\n');
  return async () => {
    const r = await timeChild(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...QUIET_GOOGLE },
      cwd: root,
    });
    if (r.code !== 0) throw new Error(`function import${tag} exited ${r.code}: ${r.stderr.slice(-300)}`);
    const v = JSON.parse(r.stdout) as { ms: number; rss0: number; rss: number };
    return {
      [`function import${tag}`]: v.ms,
      [`function import${tag} RSS MB`]: v.rss / 2 ** 20,
      [`node baseline${tag} RSS MB`]: v.rss0 / 2 ** 20,
    };
  };
}

/** functions-framework serving the function from `root`: spawn → listening → first event (1 cell) answered 204. */
export function functionFirstEvent(
  server: BenchServer,
  nb: BenchNotebook,
  root = PROJECT_ROOT,
  tag = '',
): () => Promise<Record<string, number>> {
  return async () => {
    const fn = await startFunctionProcess(root, server);
    try {
      const ms = await fn.event(nb.serverPath);
      const mem = fn.memory();
      return {
        [`function first event${tag} (${nb.label})`]: ms,
        [`function spawn to listening${tag}`]: fn.listenMs,
        [`function spawn to first event done${tag} (${nb.label})`]: fn.listenMs + ms,
        [`function RSS after first event${tag} MB`]: mem.rssMb,
        [`function peak RSS first event${tag} MB`]: mem.peakMb,
      };
    } finally {
      await fn.stop();
    }
  };
}
