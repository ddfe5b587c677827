/**
 * `npm run bench`: nbtrigger side by side with nbclient and with the physical limit, on this
 * machine, in one run.
 *
 * How: one local Jupyter server is started for the whole bench (cli/local/jupyter-server.ts) with
 * a temporary root holding notebooks of 1, 10 and 100 trivial cells. Each round runs every case
 * once, one at a time, in an order rotated every round (interleaved, so a noisy neighbour on
 * this shared machine hits every case alike); one warm-up round is not counted. Cases:
 * the physical limit (bare client: kernel start + pipelined cells), `nbtrigger run --json
 * --server` as a child process (pipelined; and `--sequential` for 100 cells), `runNotebook()`
 * in-process, nbclient's `jupyter-execute` and `jupyter nbconvert --to notebook --execute` (as
 * `python3 -m nbconvert`, their kernels with the same kernel config as the server's), on notebooks
 * of 1, 10 and 100 cells, and for context `node -e 0` and `python3 -c 'import nbclient'`.
 *
 * Also in those rounds: the in-process runner with an opt-in warm kernel, the function's start
 * (import time and RSS; functions-framework spawn → first event served), and 100 cells pipelined
 * directly and through a proxy adding BENCH_LATENCY_MS each way (default 25). Then, in their own
 * interleaved rounds (BENCH_HEAVY_ROUNDS, default 2, no warm-up): 100 cells sequential through that
 * proxy, concurrency (20 runs at once through one function process) and a 50 MB-output cell's
 * peak RSS.
 * Also in the main rounds: the kernel start bare, with the data-science base imported at start, and
 * bare plus a first cell importing the base (bench/data-science.ts; left out, saying why, when the
 * server's Python cannot import the base).
 * BENCH_ONLY=REGEX runs only the cases whose name matches it (e.g. `BENCH_ONLY=data-science`);
 * BENCH_ONLY=system runs the whole-system comparison alone.
 * BENCH_BASELINE=/path/to/another/checkout (built, with node_modules) adds the physical limit, CLI,
 * in-process and function-start cases from that checkout, run against a second local server
 * started by that checkout (so with its server and kernel configs), to the same rounds and prints
 * `ratio after/before` and the overheads of both.
 *
 * Output (stdout): `name ms: median` lines (`… MB: median` for memory) over BENCH_ROUNDS rounds
 * (default 7; BENCH_WARMUP warm-up rounds, default 1), then `overhead …` and `ratio …` lines
 * computed from the medians.
 * Progress and min/max go to stderr. Benchmarks never assert speed; the exit code is 1 only
 * when a run failed (wrong status or last result) or the server could not start.
 * The server and any child still running are stopped on every path, Ctrl-C included.
 * @module
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findPython, installKernelConfig, startLocalJupyter, type LocalJupyter } from '../cli/local/jupyter-server.js';
import { closeWarmKernels } from '../functions/jupyter/warm-kernels.js';
import type { runNotebook } from '../functions/run/runner.js';
import type { TcpProxy } from '../test/helpers/tcp-proxy.js';
import { bigOutput, concurrentRuns, isolatedRuns } from './concurrency.js';
import { dataScienceCase, dataScienceUnavailable, writeDataScienceKernelspec } from './data-science.js';
import {
  findJupyterExecute,
  findNbconvertPython,
  jupyterExecute,
  killChildren,
  nbconvertExecute,
  nbtriggerCli,
  nbtriggerInProcess,
  nodeStart,
  pythonImportNbclient,
  type BenchServer,
} from './contenders.js';
import { functionFirstEvent, functionImport } from './function-start.js';
import { latencyProxy, linkCases, sequentialLinkCase } from './latency.js';
import { writeBigOutputNotebook, writeTrivialNotebook, type BenchNotebook } from './notebooks.js';
import { reportExtras, reportMain } from './report.js';
import { measurePhysical } from './physical-limit.js';
import { fmtMs, nowMs, Samples } from './stats.js';
import { reportSystem, systemBench, type SystemBench } from './system.js';
import { randomBytes } from 'node:crypto';

/** One thing measured once per round; returns named wall times in ms. */
export interface BenchCase {
  name: string;
  run: () => Promise<Record<string, number>>;
}

function intEnv(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v >= 0 ? v : fallback;
}

function buildCases(
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
async function baselineCases(
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

function heavyCases(
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

const CONCURRENT = 20;
/** Isolated runs at once through one function process (BENCH_MANY): what one instance is set to carry. */
const MANY = intEnv('BENCH_MANY', 50);

/** Runs the rounds; returns the metric names in case order (for a stable report). */
async function runRounds(
  cases: BenchCase[],
  rounds: number,
  warmup: number,
  samples: Samples,
  failures: Map<string, string>,
  signal: AbortSignal,
): Promise<string[]> {
  const metrics = new Map<string, Set<string>>(cases.map((c) => [c.name, new Set<string>()]));
  for (let r = 0; r < warmup + rounds; r++) {
    const t = nowMs();
    const counted = r >= warmup;
    const shift = r % cases.length;
    for (const c of [...cases.slice(shift), ...cases.slice(0, shift)]) {
      if (signal.aborted) throw new Error('interrupted');
      try {
        const values = await c.run();
        if (counted) samples.addAll(values);
        for (const k of Object.keys(values)) metrics.get(c.name)!.add(k);
      } catch (e) {
        if (signal.aborted) throw new Error('interrupted');
        if (!failures.has(c.name)) failures.set(c.name, e instanceof Error ? e.message : String(e));
        process.stderr.write(`  ${c.name}: FAILED: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
    const label = counted ? `round ${r - warmup + 1}/${rounds}` : `warm-up ${r + 1}/${warmup}`;
    process.stderr.write(`bench: ${label} done in ${((nowMs() - t) / 1000).toFixed(1)} s\n`);
  }
  return [...metrics.values()].flatMap((set) => [...set]).filter((name) => samples.values(name).length > 0);
}

/** Starts the bench's server; with `jupyterPath`, its kernelspecs are found there too (JUPYTER_PATH). */
async function startBenchServer(rootDir: string, jupyterPath: string | undefined): Promise<LocalJupyter> {
  if (!jupyterPath) return startLocalJupyter({ rootDir });
  const saved = process.env.JUPYTER_PATH;
  // The server's environment is this process's at spawn: set only for that moment.
  process.env.JUPYTER_PATH = saved ? `${jupyterPath}:${saved}` : jupyterPath;
  try {
    return await startLocalJupyter({ rootDir });
  } finally {
    if (saved === undefined) delete process.env.JUPYTER_PATH;
    else process.env.JUPYTER_PATH = saved;
  }
}

async function main(): Promise<number> {
  const rounds = Math.max(1, intEnv('BENCH_ROUNDS', 7));
  const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
  const warmup = intEnv('BENCH_WARMUP', 1);
  const t0 = nowMs();
  const root = await mkdtemp(join(tmpdir(), 'nbtrigger-bench-'));
  let jupyter: LocalJupyter | undefined;
  let baselineJupyter: LocalJupyter | undefined;
  let proxy: TcpProxy | undefined;
  let system: SystemBench | undefined;
  const cleanup = async (): Promise<void> => {
    await system?.stop().catch(() => undefined);
    killChildren();
    await closeWarmKernels();
    await proxy?.close();
    await jupyter?.stop();
    await baselineJupyter?.stop();
    await rm(root, { recursive: true, force: true });
  };
  const interrupted = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`bench: ${sig}, stopping\n`);
    interrupted.abort();
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const one = await writeTrivialNotebook(root, 1);
    const ten = await writeTrivialNotebook(root, 10);
    const hundred = await writeTrivialNotebook(root, 100);
    // BENCH_ONLY=system: only the whole-system comparison (bench/system.ts), without the other servers.
    system = await systemBench(root, [one, hundred], randomBytes(24).toString('hex'));
    if (process.env.BENCH_ONLY === 'system') {
      return await runSystemOnly(system, [one.label, hundred.label], rounds, warmup, interrupted.signal);
    }
    const dsSkipped = dataScienceUnavailable(findPython());
    const jupyterPath = dsSkipped ? undefined : join(root, '.jupyter-path');
    if (jupyterPath) await writeDataScienceKernelspec(jupyterPath, findPython());
    else process.stderr.write(`bench: kernel start with the data-science base skipped: ${dsSkipped}\n`);
    jupyter = await startBenchServer(root, jupyterPath);
    const server: BenchServer = { host: jupyter.address.host, port: jupyter.address.port, token: jupyter.token };
    const jx = findJupyterExecute();
    if (!jx)
      process.stderr.write(
        'bench: jupyter-execute not found (apt-get install python3-nbclient): its cases are skipped\n',
      );
    const nbc = findNbconvertPython();
    if (!nbc)
      process.stderr.write('bench: nbconvert not found (apt-get install python3-nbconvert): its cases are skipped\n');
    const big = await writeBigOutputNotebook(root, 50);
    const baselineRoot = process.env.BENCH_BASELINE;
    const baseline = baselineRoot ? await baselineCases(baselineRoot, root, one, hundred) : undefined;
    baselineJupyter = baseline?.jupyter;
    const oneWayMs = intEnv('BENCH_LATENCY_MS', 25);
    const latency = await latencyProxy(server, oneWayMs);
    proxy = latency.proxy;
    // nbclient's kernels get the same kernel config as the server's (in-memory history, the
    // shutdown-race fixes, the start-up freeze): the comparison is of the runners, not of kernels
    // (without it, ipykernel 6's shutdown race adds 3 s to some of nbclient's runs).
    const jxHome = join(root, '.jupyter-execute-home');
    await installKernelConfig(join(jxHome, 'ipython', 'profile_default'));
    const cases = [
      ...buildCases(server, [one, ten, hundred], hundred, jx, nbc, jxHome),
      ...linkCases(server, latency.server, hundred, oneWayMs),
      ...(dsSkipped ? [] : [dataScienceCase(server)]),
      ...(baseline?.cases ?? []),
      ...system.cases,
    ].filter((c) => !only || only.test(c.name));
    process.stderr.write(
      `bench: Jupyter on ${server.host}:${server.port}; ${cases.length} cases, ${warmup} warm-up + ${rounds} rounds, interleaved\n`,
    );
    const samples = new Samples();
    const failures = new Map<string, string>();
    const names = await runRounds(cases, rounds, warmup, samples, failures, interrupted.signal);
    await closeWarmKernels();
    const heavy = heavyCases(server, latency.server, oneWayMs, one, hundred, big, root, jupyter.child.pid).filter(
      (c) => !only || only.test(c.name),
    );
    const heavyRounds = Math.max(1, intEnv('BENCH_HEAVY_ROUNDS', 2));
    process.stderr.write(
      `bench: sequential through the link, concurrency and memory: ${heavy.length} cases, ${heavyRounds} rounds, interleaved\n`,
    );
    const heavyNames =
      heavy.length > 0 ? await runRounds(heavy, heavyRounds, 0, samples, failures, interrupted.signal) : [];
    reportMain(samples, [...names, ...heavyNames], rounds, [one.label, ten.label, hundred.label], only);
    if (!only) reportExtras(samples, { one, hundred, big, oneWayMs, concurrent: CONCURRENT, many: MANY, heavyRounds });
    if (dsSkipped) process.stdout.write(`skipped kernel start with the data-science base: ${dsSkipped}\n`);
    if (!only || only.test('system')) {
      process.stdout.write(
        `${[...reportSystem(samples, [one.label, hundred.label]), await system.isolation()].join('\n')}\n`,
      );
    }
    for (const [name, msg] of failures) process.stdout.write(`failed ${name}: ${msg}\n`);
    process.stderr.write(`bench: total ${((nowMs() - t0) / 1000).toFixed(1)} s\n`);
    return failures.size > 0 ? 1 : 0;
  } catch (e) {
    const detail = interrupted.signal.aborted ? 'interrupted' : e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`bench: ${detail}\n`);
    return 1;
  } finally {
    await cleanup();
  }
}

/** `BENCH_ONLY=system`: the system cases alone, in their own interleaved rounds. */
async function runSystemOnly(
  system: SystemBench,
  labels: string[],
  rounds: number,
  warmup: number,
  signal: AbortSignal,
): Promise<number> {
  const samples = new Samples();
  const failures = new Map<string, string>();
  const names = await runRounds(system.cases, rounds, warmup, samples, failures, signal);
  const out = [
    `rounds: ${rounds}`,
    ...names.map((n) =>
      / CPU s /.test(n) ? `${n}: ${samples.median(n).toFixed(3)}` : `${n} ms: ${fmtMs(samples.median(n))}`,
    ),
  ];
  for (const n of names) {
    const v = samples.values(n);
    process.stderr.write(
      `  ${n}: min ${fmtMs(Math.min(...v))} median ${fmtMs(samples.median(n))} max ${fmtMs(Math.max(...v))} (n=${v.length})\n`,
    );
  }
  out.push(...reportSystem(samples, labels), await system.isolation());
  for (const [name, msg] of failures) out.push(`failed ${name}: ${msg}`);
  process.stdout.write(`${out.join('\n')}\n`);
  return failures.size > 0 ? 1 : 0;
}

process.exitCode = await main();
