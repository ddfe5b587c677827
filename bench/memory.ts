/**
 * `npm run bench:memory`: the large-output memory bound alone (docs/function.md, docs/benchmarks.md),
 * quicker to repeat than the whole bench. For each large-output notebook (50 × 1 MB flushed
 * chunks, and one `print` of 50 MB), in a fresh functions-framework process per round: a trivial
 * run first (modules loaded, record and notebook written once), then the large one; prints the
 * peak RSS growth over the RSS after the trivial run (`VmHWM` − `VmRSS`, /proc) and its ratio to
 * the per-cell output cap. Rounds: BENCH_ROUNDS (default 3). BENCH_BASELINE=/path/to/another/checkout
 * (built, with node_modules) runs the same cases from it in the same rounds, alternating, and prints
 * `ratio after/before`. Never asserts: a test does (test/integration/functions/large-output-memory).
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalJupyter, type LocalJupyter } from '../cli/local/jupyter-server.js';
import { PROJECT_ROOT } from '../cli/project-root.js';
import { bigOutput, OUTPUT_CAP_MB } from './concurrency.js';
import { killChildren, type BenchServer } from './contenders.js';
import { writeBigOutputNotebook, writeSinglePrintNotebook, writeTrivialNotebook } from './notebooks.js';
import { fmtRatio, Samples } from './stats.js';

async function main(): Promise<number> {
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3) || 3);
  const root = await mkdtemp(join(tmpdir(), 'nbtrigger-bench-mem-'));
  let jupyter: LocalJupyter | undefined;
  try {
    const trivial = await writeTrivialNotebook(root, 1);
    const bigs = [await writeBigOutputNotebook(root, 50), await writeSinglePrintNotebook(root, 50)];
    jupyter = await startLocalJupyter({ rootDir: root });
    const server: BenchServer = { host: jupyter.address.host, port: jupyter.address.port, token: jupyter.token };
    const samples = new Samples();
    const baseline = process.env.BENCH_BASELINE;
    const roots: Array<[string, string]> = [
      ['', PROJECT_ROOT],
      ...(baseline ? [['baseline ', baseline] as [string, string]] : []),
    ];
    for (let r = 0; r < rounds; r++) {
      for (const big of bigs) {
        // Side by side: this checkout and the baseline in turn, the order swapped every round.
        for (const [prefix, root] of r % 2 === 0 ? roots : [...roots].reverse()) {
          const m = await bigOutput(server, trivial, big, root)();
          for (const [k, v] of Object.entries(m)) samples.add(prefix + k, v);
          process.stderr.write(
            `bench:memory round ${r + 1}/${rounds} ${prefix}${big.label}: ${Object.entries(m)
              .map(([k, v]) => `${k} ${v.toFixed(1)}`)
              .join(', ')}\n`,
          );
        }
      }
    }
    process.stdout.write(`output cap MB: ${OUTPUT_CAP_MB}\n`);
    for (const big of bigs) {
      for (const [prefix] of roots) {
        const growth = samples.median(`${prefix}function ${big.label} peak RSS growth MB`);
        const peak = samples.median(`${prefix}function ${big.label} peak RSS MB`);
        process.stdout.write(`${prefix}function ${big.label} peak RSS MB: ${peak.toFixed(1)}\n`);
        process.stdout.write(`${prefix}function ${big.label} peak RSS growth MB: ${growth.toFixed(1)}\n`);
        process.stdout.write(
          `${prefix}function ${big.label} run ms: ${samples.median(`${prefix}function ${big.label} run`).toFixed(1)}\n`,
        );
        process.stdout.write(
          `ratio ${prefix}${big.label} peak RSS growth / output cap: ${fmtRatio(growth, OUTPUT_CAP_MB)}\n`,
        );
      }
      if (baseline) {
        const g = (p: string): number => samples.median(`${p}function ${big.label} peak RSS growth MB`);
        const t = (p: string): number => samples.median(`${p}function ${big.label} run`);
        process.stdout.write(`ratio after/before ${big.label} peak RSS growth: ${fmtRatio(g(''), g('baseline '))}\n`);
        process.stdout.write(`ratio after/before ${big.label} run time: ${fmtRatio(t(''), t('baseline '))}\n`);
      }
    }
    return 0;
  } catch (e) {
    process.stderr.write(`bench:memory: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  } finally {
    killChildren();
    await jupyter?.stop();
    await rm(root, { recursive: true, force: true });
  }
}

process.exitCode = await main();
