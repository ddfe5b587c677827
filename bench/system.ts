/**
 * The whole system against the classic one, on this machine, in the bench's interleaved rounds:
 *
 * - classic system: a stock Jupyter Server (bench/servers.ts) + the minimal pipelined Python client
 *   (bench/classic-client.py: contents GET, kernel POST, every cell at once, done at the last
 *   reply, kernel DELETE), a new Python process per run as the classic runner was;
 * - nbtrigger system: the image's server (start-server.sh from this checkout, its kernel pool on)
 *   + the function under functions-framework, warm (one event served before the rounds), fed a
 *   Pub/Sub CloudEvent per run.
 *
 * Per run: wall time, and CPU seconds: the function process's own (utime + stime from
 * /proc/PID/stat around the event, what Cloud Run bills) against the client's (its getrusage).
 * Also the CLI (`nbtrigger run --server`) against the stock server, and the cold path: a server
 * spawned for the run, timed from its spawn to the run's end (1 cell), for the stock server + the
 * client and for the image's server with and without the pool + the warm function. Then, once, an
 * isolation check: two consecutive runs through the function, different kernel pids, a global of
 * the first absent in the second. Never asserts speed: a failed run fails the case.
 * @module
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findPython } from '../cli/local/jupyter-server.js';
import { PROJECT_ROOT } from '../cli/project-root.js';
import { clientRun } from './clients.js';
import { nbtriggerCli, type BenchServer } from './contenders.js';
import { startFunctionProcess, type FunctionProcess } from './function-process.js';
import type { BenchNotebook } from './notebooks.js';
import type { BenchCase } from './rounds.js';
import { cpuSeconds } from './proc-cpu.js';
import { otherNode, type OtherNode } from './other-node.js';
import { ownCpusBench, reportOwnCpus } from './own-cpus.js';
import { processStartCases, reportProcessStart } from './process-start.js';
import { spawnServer } from './servers.js';
import { fmtRatios } from './paired.js';
import { fmtMs, fmtRatio, fmtValue, nowMs, type Samples } from './stats.js';
import { writeFile } from 'node:fs/promises';

/**
 * How the CLI is loaded: as installed, its bundle without a code cache, its compiled modules; and as
 * installed on a second Node version when there is one (bench/other-node.ts). [tag, env, node binary]
 */
function cliLoads(other: OtherNode | undefined): [string, NodeJS.ProcessEnv, string?][] {
  return [
    ['', {}],
    [' bundle no cache', { NODE_DISABLE_COMPILE_CACHE: '1' }],
    [' modules', { NBTRIGGER_CLI_BUNDLE: '0' }],
    ...(other ? [[other.tag, {}, other.path] as [string, NodeJS.ProcessEnv, string]] : []),
  ];
}

export interface SystemBench {
  cases: BenchCase[];
  /** The second Node the CLI's cases also ran on (bench/other-node.ts), if any. */
  other: OtherNode | undefined;
  isolation(): Promise<string>;
  stop(): Promise<void>;
}

/** One function event: wall ms and the function process's CPU seconds for it. */
async function functionRun(
  fn: FunctionProcess,
  nb: BenchNotebook,
  target?: BenchServer,
): Promise<{ ms: number; cpu: number }> {
  const cpu0 = cpuSeconds(fn.pid);
  const ms = await fn.event(nb.serverPath, target);
  return { ms, cpu: cpuSeconds(fn.pid) - cpu0 };
}

export async function systemBench(root: string, sizes: BenchNotebook[], token: string): Promise<SystemBench> {
  const python = findPython();
  const one = sizes[0]!;
  const stock = await spawnServer('stock', { root, token });
  const image = await spawnServer('image', { root, token });
  const fn = await startFunctionProcess(PROJECT_ROOT, image);
  await fn.event(one.serverPath); // warm: modules loaded, as an instance that has served before
  const cases: BenchCase[] = [];
  const other = otherNode();
  for (const nb of sizes) {
    cases.push({
      name: `classic system (${nb.label})`,
      run: async () => {
        const server0 = cpuSeconds(stock.pid);
        const r = await clientRun(stock, nb, python);
        return {
          [`classic system (${nb.label})`]: r.ms,
          [`classic client CPU s (${nb.label})`]: r.cpu,
          [`stock server CPU s, classic client (${nb.label})`]: cpuSeconds(stock.pid) - server0,
        };
      },
    });
    cases.push({
      name: `node floor client (${nb.label})`,
      run: async () => {
        const r = await clientRun(stock, nb, python, { floorNode: process.execPath });
        return { [`node floor client (${nb.label})`]: r.ms, [`node floor client CPU s (${nb.label})`]: r.cpu };
      },
    });
    cases.push({
      name: `nbtrigger system (${nb.label})`,
      run: async () => {
        const r = await functionRun(fn, nb);
        return { [`nbtrigger system (${nb.label})`]: r.ms, [`nbtrigger function CPU s (${nb.label})`]: r.cpu };
      },
    });
    // The CLI as installed (its bundle, with the code cache), and the two steps under it: the bundle
    // without a code cache, and the compiled modules (bin/nbtrigger.js, bin/load-bundle.js).
    for (const [tag, env, node] of cliLoads(other)) {
      const name = `nbtrigger CLI${tag} on stock server (${nb.label})`;
      const cli = nbtriggerCli(stock, nb, { tag: `${tag} on stock server`, env, node });
      const serverCpu = `stock server CPU s, nbtrigger CLI${tag} (${nb.label})`;
      cases.push({
        name,
        run: async () => {
          const server0 = cpuSeconds(stock.pid);
          const r = await cli();
          const own = `nbtrigger${tag} on stock server (${nb.label})`; // nbtriggerCli's names
          return {
            [name]: r[own]!,
            [`nbtrigger CLI${tag} CPU s (${nb.label})`]: r[`${own} CPU s`]!,
            [serverCpu]: cpuSeconds(stock.pid) - server0,
          };
        },
      });
    }
  }
  const ownCpus = await ownCpusBench(root, sizes, token, python, other);
  cases.push(...ownCpus.cases, ...processStartCases(python, other));
  cases.push({
    name: 'cold classic',
    run: async () => {
      const s = await spawnServer('stock', { root, token });
      try {
        await clientRun(s, one, python);
        return {
          [`cold classic: stock server spawn to result (${one.label})`]: nowMs() - s.spawnedAt,
          'cold stock server spawn to ready': s.readyMs,
        };
      } finally {
        await s.stop();
      }
    },
  });
  for (const [tag, pool] of [
    ['', undefined],
    [' no pool', 'python3:0'],
  ] as const) {
    cases.push({
      name: `cold nbtrigger${tag}`,
      run: async () => {
        const s = await spawnServer('image', { root, token, pool });
        try {
          await functionRun(fn, one, s);
          return {
            [`cold nbtrigger${tag}: image server spawn to result (${one.label})`]: nowMs() - s.spawnedAt,
            [`cold image server${tag} spawn to ready`]: s.readyMs,
          };
        } finally {
          await s.stop();
        }
      },
    });
  }
  return {
    cases,
    other,
    isolation: () => isolation(root, fn),
    async stop() {
      await fn.stop();
      await Promise.all([image.stop(), stock.stop(), ownCpus.stop()]);
    },
  };
}

/** Two runs in a row through the function: kernel pids and whether run 1's global is seen by run 2. */
async function isolation(root: string, fn: FunctionProcess): Promise<string> {
  const cell = (source: string): unknown => ({
    cell_type: 'code',
    id: 'c',
    metadata: {},
    execution_count: null,
    outputs: [],
    source,
  });
  const write = (name: string, source: string): Promise<void> =>
    writeFile(
      join(root, name),
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
        cells: [cell(source)],
      }),
    );
  await write(
    'isolation-1.ipynb',
    [
      'import os',
      'NBTRIGGER_ISOLATION_MARK = 1',
      "os.environ['NBTRIGGER_ISOLATION_ENV'] = '1'",
      "(os.getpid(), 'NBTRIGGER_ISOLATION_MARK' in globals())",
    ].join('\n'),
  );
  await write(
    'isolation-2.ipynb',
    `import os\n(os.getpid(), 'NBTRIGGER_ISOLATION_MARK' in globals() or 'NBTRIGGER_ISOLATION_ENV' in os.environ)`,
  );
  await fn.event('/isolation-1.ipynb');
  await fn.event('/isolation-2.ipynb');
  const last = async (name: string): Promise<string> => {
    const files = (await readdir(fn.runsDir, { recursive: true }))
      .filter((f) => f.includes(name) && f.endsWith('.json'))
      .sort();
    const rec = JSON.parse(await readFile(join(fn.runsDir, files[files.length - 1]!), 'utf8')) as {
      lastResult?: Record<string, string>;
    };
    return rec.lastResult?.['text/plain'] ?? '';
  };
  const [a, b] = [await last('isolation-1'), await last('isolation-2')];
  const m1 = /^\((\d+), True\)$/.exec(a);
  const m2 = /^\((\d+), (True|False)\)$/.exec(b);
  if (!m1 || !m2) throw new Error(`isolation: unexpected results ${a} / ${b}`);
  const ok = m1[1] !== m2[1] && m2[2] === 'False';
  const pids = `run 1 kernel pid ${m1[1]}, run 2 kernel pid ${m2[1]}`;
  return `isolation: ${ok ? 'ok' : 'FAILED'} (${pids}, run 1's global or environment seen by run 2: ${m2[2]})`;
}

/** The system lines: medians, ratios nbtrigger/classic, CPU seconds side by side. */
export function reportSystem(s: Samples, labels: string[], other: OtherNode | undefined): string[] {
  const m = (name: string): number => s.median(name);
  const range = (name: string): string => {
    const v = s.values(name);
    return v.length ? `${fmtMs(Math.min(...v))}–${fmtMs(Math.max(...v))}` : 'n/a';
  };
  const out: string[] = [];
  for (const l of labels) {
    const [system, classic] = [`nbtrigger system (${l})`, `classic system (${l})`];
    out.push(
      `ratio nbtrigger system/classic system (${l}): ${fmtRatio(m(system), m(classic))}` +
        ` (nbtrigger ${range(system)} ms, classic ${range(classic)} ms)`,
    );
    for (const [tag] of cliLoads(other)) {
      const cli = `nbtrigger CLI${tag} on stock server (${l})`;
      out.push(`ratio nbtrigger CLI${tag} on stock server/classic client (${l}): ${fmtRatios(s, cli, classic)}`);
    }
    out.push(
      `ratio node floor client on stock server/classic client (${l}): ` +
        fmtRatios(s, `node floor client (${l})`, classic),
    );
    const cpu = (name: string): string => fmtValue(' CPU s', m(`${name} CPU s (${l})`));
    out.push(
      `CPU s per run, function · CLI · node floor client · classic client (${l}): ${cpu('nbtrigger function')} · ` +
        `${cpu('nbtrigger CLI')} · ${cpu('node floor client')} · ${cpu('classic client')}`,
    );
    // The server's share: the kernel WebSocket's v1 subprotocol spares it decoding and re-encoding each message.
    const server = (who: string): string => fmtValue(' CPU s', m(`stock server CPU s, ${who} (${l})`));
    out.push(
      `stock server CPU s per run, nbtrigger CLI · classic client (${l}): ${server('nbtrigger CLI')} · ` +
        server('classic client'),
    );
  }
  out.push(...reportOwnCpus(s, labels, other), reportProcessStart(s, other));
  const o = labels[0]!;
  const cold = (name: string): number => m(`${name} spawn to result (${o})`);
  const classicCold = cold('cold classic: stock server');
  out.push(`ratio cold path nbtrigger/classic (${o}): ${fmtRatio(cold('cold nbtrigger: image server'), classicCold)}`);
  out.push(
    `ratio cold path nbtrigger without pool/classic (${o}): ` +
      fmtRatio(cold('cold nbtrigger no pool: image server'), classicCold),
  );
  return out;
}
