/**
 * `npm run bench`: nbtrigger side by side with nbclient and with the physical limit, on this
 * machine, in one run.
 *
 * How: one local Jupyter server is started for the whole bench (cli/local/jupyter-server.ts) with
 * a temporary root holding notebooks of 1, 10 and 100 trivial cells. Each round runs every case
 * once, one at a time, in an order shuffled every round (BENCH_SEED, default 1), each case started
 * on quiet CPUs (bench/rounds.ts; interleaved, so a noisy neighbour on this shared machine hits
 * every case alike); one warm-up round is not counted. Cases:
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
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPython, installKernelConfig, startLocalJupyter, type LocalJupyter } from '../cli/local/jupyter-server.js';
import { closeWarmKernels } from '../functions/jupyter/warm-kernels.js';
import type { TcpProxy } from '../test/helpers/tcp-proxy.js';
import { baselineCases, buildCases, CONCURRENT, heavyCases, intEnv, MANY } from './cases.js';
import { dataScienceCase, dataScienceUnavailable, writeDataScienceKernelspec } from './data-science.js';
import { findJupyterExecute, findNbconvertPython, killChildren, type BenchServer } from './contenders.js';
import { latencyProxy, linkCases } from './latency.js';
import { writeBigOutputNotebook, writeTrivialNotebook } from './notebooks.js';
import { reportExtras, reportMain } from './report.js';
import { benchSeed, runRounds, runSystemOnly } from './rounds.js';
import { nowMs, Samples } from './stats.js';
import { reportSystem, systemBench, type SystemBench } from './system.js';
import { randomBytes } from 'node:crypto';

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
    const plan = `${cases.length} cases, ${warmup} warm-up + ${rounds} rounds, interleaved (seed ${benchSeed()})`;
    process.stderr.write(`bench: Jupyter on ${server.host}:${server.port}; ${plan}\n`);
    const samples = new Samples();
    const failures = new Map<string, string>();
    const names = await runRounds(cases, rounds, warmup, samples, failures, interrupted.signal);
    await closeWarmKernels();
    const heavy = heavyCases(server, latency.server, oneWayMs, one, hundred, big, root, jupyter.child.pid).filter(
      (c) => !only || only.test(c.name),
    );
    const heavyRounds = Math.max(1, intEnv('BENCH_HEAVY_ROUNDS', 2));
    const heavyPlan = `${heavy.length} cases, ${heavyRounds} rounds, interleaved`;
    process.stderr.write(`bench: sequential through the link, concurrency and memory: ${heavyPlan}\n`);
    const heavyNames =
      heavy.length > 0 ? await runRounds(heavy, heavyRounds, 0, samples, failures, interrupted.signal) : [];
    reportMain(samples, [...names, ...heavyNames], rounds, [one.label, ten.label, hundred.label], only);
    if (!only) reportExtras(samples, { one, hundred, big, oneWayMs, concurrent: CONCURRENT, many: MANY, heavyRounds });
    if (dsSkipped) process.stdout.write(`skipped kernel start with the data-science base: ${dsSkipped}\n`);
    if (!only || system.cases.some((c) => only.test(c.name))) {
      const lines = reportSystem(samples, [one.label, hundred.label], system.other);
      process.stdout.write(`${[...lines, await system.isolation()].join('\n')}\n`);
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

process.exitCode = await main();
