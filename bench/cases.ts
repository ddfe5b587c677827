/**
 * The bench's case lists (bench/run-all.ts runs them): the main rounds' contenders on every
 * notebook size, the same cases from a baseline checkout (BENCH_BASELINE) against its own local
 * server, and the heavy cases that run in rounds of their own.
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LocalJupyter, startLocalJupyter } from '../cli/local/jupyter-server.js';
import type { runNotebook } from '../functions/run/runner.js';
import { bigOutput, concurrentRuns, isolatedRuns } from './concurrency.js';
import {
  jupyterExecute,
  nbconvertExecute,
  nbtriggerCli,
  nbtriggerInProcess,
  nodeStart,
  pythonImportNbclient,
  type BenchServer,
} from './contenders.js';
import { functionFirstEvent, functionImport } from './function-start.js';
import { sequentialLinkCase } from './latency.js';
import type { BenchNotebook } from './notebooks.js';
import { measurePhysical } from './physical-limit.js';
import type { BenchCase } from './rounds.js';

/** A whole number >= 0 from the environment variable `name`, else `fallback`. */
export function intEnv(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v >= 0 ? v : fallback;
}

/** The main rounds' cases: every contender on every notebook size, and the start-up cases. */
export function buildCases(
  server: BenchServer,
  sizes: BenchNotebook[],
  hundred: BenchNotebook,
  jx: string | undefined,
  nbc: string | undefined,
  jxHome: string,
): BenchCase[] {
  const cases: BenchCase[] = [];
  const one = sizes[0]!;
  for (const nb of sizes) {
    cases.push({ name: `physical limit (${nb.label})`, run: () => measurePhysical(server, nb.sources, nb.label) });
    cases.push({ name: `nbtrigger (${nb.label})`, run: nbtriggerCli(server, nb) });
    cases.push({ name: `nbtrigger in-process (${nb.label})`, run: nbtriggerInProcess(server, nb) });
    if (jx) cases.push({ name: `jupyter-execute (${nb.label})`, run: jupyterExecute(jx, jxHome, nb) });
    if (nbc) cases.push({ name: `nbconvert --execute (${nb.label})`, run: nbconvertExecute(nbc, jxHome, nb) });
  }
  cases.push({
    name: `nbtrigger --sequential (${hundred.label})`,
    run: nbtriggerCli(server, hundred, { sequential: true }),
  });
  cases.push({ name: 'node start (node -e 0)', run: nodeStart() });
  if (jx) cases.push({ name: 'python start + import nbclient', run: pythonImportNbclient() });
  cases.push({ name: `in-process warm kernel (${one.label})`, run: nbtriggerInProcess(server, one, { warm: true }) });
  cases.push({ name: 'function import', run: functionImport() });
  cases.push({ name: 'function first event', run: functionFirstEvent(server, one) });
  return cases;
}

/**
 * The same cases from another checkout (before/after in one interleaved run), against that
 * checkout's own local server: its server and kernel configs (notebook-image/) are part of what
 * is compared, so its physical limit and kernel DELETE are measured there too.
 */
export async function baselineCases(
  root: string,
  rootDir: string,
  one: BenchNotebook,
  hundred: BenchNotebook,
): Promise<{ cases: BenchCase[]; jupyter: LocalJupyter }> {
  const tag = ' [before]';
  const mod = (await import(pathToFileURL(join(root, 'dist', 'functions', 'run', 'runner.js')).href)) as {
    runNotebook: typeof runNotebook;
  };
  // The compared checkout has its local server in dist/cli/local/ or dist/cli/, as its commit lays it out.
  const serverModule =
    ['local', '.'].map((d) => join(root, 'dist', 'cli', d, 'jupyter-server.js')).find((p) => existsSync(p)) ??
    join(root, 'dist', 'cli', 'local', 'jupyter-server.js');
  const js = (await import(pathToFileURL(serverModule).href)) as { startLocalJupyter: typeof startLocalJupyter };
  const jupyter = await js.startLocalJupyter({ rootDir });
  const server: BenchServer = { host: jupyter.address.host, port: jupyter.address.port, token: jupyter.token };
  const cases: BenchCase[] = [];
  for (const nb of [one, hundred]) {
    cases.push({
      name: `physical limit${tag} (${nb.label})`,
      run: () => measurePhysical(server, nb.sources, nb.label, undefined, tag),
    });
    cases.push({ name: `nbtrigger${tag} (${nb.label})`, run: nbtriggerCli(server, nb, { root, tag }) });
    cases.push({
      name: `nbtrigger in-process${tag} (${nb.label})`,
      run: nbtriggerInProcess(server, nb, { run: mod.runNotebook, tag }),
    });
  }
  cases.push({
    name: `nbtrigger --sequential${tag} (${hundred.label})`,
    run: nbtriggerCli(server, hundred, { sequential: true, root, tag }),
  });
  cases.push({ name: `function import${tag}`, run: functionImport(root, tag) });
  cases.push({ name: `function first event${tag}`, run: functionFirstEvent(server, one, root, tag) });
  return { cases, jupyter };
}

/** The cases that run in their own rounds: sequential through the link, concurrency, memory. */
export function heavyCases(
  server: BenchServer,
  viaProxy: BenchServer,
  oneWayMs: number,
  one: BenchNotebook,
  hundred: BenchNotebook,
  big: BenchNotebook,
  root: string,
  serverPid?: number,
): BenchCase[] {
  return [
    sequentialLinkCase(viaProxy, hundred, oneWayMs),
    { name: 'concurrency', run: concurrentRuns(server, one, CONCURRENT) },
    { name: 'isolated concurrency', run: isolatedRuns(server, root, MANY, serverPid) },
    { name: 'big output', run: bigOutput(server, one, big) },
  ];
}

/** Runs at once through one function process in the concurrency case. */
export const CONCURRENT = 20;
/** Isolated runs at once through one function process (BENCH_MANY): what one instance is set to carry. */
export const MANY = intEnv('BENCH_MANY', 50);
