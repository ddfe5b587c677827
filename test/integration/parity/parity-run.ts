/**
 * Running one notebook on both sides of the nbclient parity test (nbclient-parity.test.ts): the
 * shared Jupyter server with the corpus copied into its root, nbtrigger's run (runner → executed
 * notebook) and nbclient's reference run (test/helpers/nbclient.ts), the cell-by-cell comparison
 * that records a row of the parity table, and the table itself, printed when the server stops.
 * The normalised cells of each compared notebook are kept for the test's perturbation checks.
 * @module
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPython } from '../../../cli/local/jupyter-server.js';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { buildExecutedNotebook } from '../../../functions/notebook/executed.js';
import type { Notebook } from '../../../functions/notebook/model.js';
import type { RunRequest } from '../../../functions/request/grammar.js';
import { runNotebook, type RunOutcome } from '../../../functions/run/runner.js';
import { runNbclient, verdictText, type NbclientRun } from '../../helpers/nbclient.js';
import { notebookJson, startTestServer, type TestServer } from '../../helpers/jupyter.js';
import {
  deadCellCountRace,
  diffCells,
  nbtriggerVerdict,
  normaliseCells,
  ranAfterErrorGap,
  verdictKey,
  type NormCell,
  type Normaliser,
} from '../../helpers/parity-compare.js';
import { EXTRA, type Case } from './parity-cases.js';

export const CORPUS = join(PROJECT_ROOT, 'test', 'corpus');
export const HAVE_CORPUS = existsSync(join(CORPUS, 'nbclient')) && existsSync(join(CORPUS, 'papermill'));
const DEFAULT_TIMEOUT_S = 60;
/**
 * A hang bound, not a timing: the kernel's start and the channel's handshake (which Jupyter Server
 * holds until the kernel answers) share the CPU with nbclient's kernel, heavy imports and the rest
 * of the suite. nbclient waits for its kernel without a limit of its own worth comparing.
 */
const START_LIMIT_MS = 240_000;

function pythonHas(module: string): boolean {
  try {
    execFileSync(findPython(), ['-c', `import ${module}`], {
      stdio: 'ignore',
      env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' },
    });
    return true;
  } catch {
    return false;
  }
}
export const HAVE_NBCLIENT = pythonHas('nbclient');
const HAVE_IPYWIDGETS = pythonHas('ipywidgets');
const HAVE_COMM = pythonHas('comm');
export const INSTALLED: Record<string, boolean> = { ipywidgets: HAVE_IPYWIDGETS, comm: HAVE_COMM };

// ---------------------------------------------------------------- running both sides

interface Row {
  notebook: string;
  nbtrigger: string;
  nbclient: string;
  compared: number;
  equal: string;
}
const rows: Row[] = [];
/** Normalised results kept for the perturbation checks. */
export const kept = new Map<string, { trig: NormCell[]; ref: NormCell[]; trigVerdict: string; refVerdict: string }>();

export let server: TestServer;
export let norm: Normaliser;
export const parallelDirs: string[] = [];

/** Starts the Jupyter server both sides run against, with the corpus and the extra notebooks in its root. */
export async function startParity(): Promise<void> {
  if (!HAVE_CORPUS || !HAVE_NBCLIENT) return;
  // Parallel Execute A/B read this in the kernel: the server's kernels inherit the server's environment.
  const dir = await mkdtemp(join(tmpdir(), 'nbtrigger-parallel-'));
  parallelDirs.push(dir);
  process.env.NBEXECUTE_TEST_PARALLEL_TMPDIR = dir;
  server = await startTestServer();
  norm = { root: server.rootDir };
  for (const sub of ['nbclient', 'papermill'] as const) {
    await mkdir(join(server.rootDir, sub), { recursive: true });
    for (const f of await readdir(join(CORPUS, sub))) {
      if (f.endsWith('.ipynb') || f.endsWith('.png'))
        await copyFile(join(CORPUS, sub, f), join(server.rootDir, sub, f));
    }
  }
  await mkdir(join(server.rootDir, 'extra'), { recursive: true });
  await copyFile(join(CORPUS, 'nbclient', 'python.png'), join(server.rootDir, 'extra', 'python.png'));
  for (const [name, cells] of Object.entries(EXTRA))
    await writeFile(join(server.rootDir, 'extra', name), notebookJson(cells));
  await writeFile(join(server.rootDir, 'papermill', 'check.txt'), 'read_check: the notebook runs in its own folder\n');
}

/** Stops the server, removes the temp folders, and prints the parity table. */
export async function stopParity(): Promise<void> {
  await server?.close();
  for (const d of parallelDirs) await rm(d, { recursive: true, force: true });
  await rm(join(tmpdir(), `nbtrigger-parity-${process.pid}-history.sqlite`), { force: true });
  if (rows.length > 0) {
    rows.sort((a, b) => a.notebook.localeCompare(b.notebook));
    const head: Row = {
      notebook: 'notebook',
      nbtrigger: 'nbtrigger',
      nbclient: 'nbclient',
      compared: -1,
      equal: 'equal?',
    };
    const cells = (r: Row): string[] => [
      r.notebook,
      r.nbtrigger,
      r.nbclient,
      r.compared < 0 ? 'cells' : String(r.compared),
      r.equal,
    ];
    const all = [head, ...rows].map(cells);
    const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
    const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
    console.log(
      [
        '',
        'nbtrigger ⇄ nbclient parity',
        line(all[0]!),
        widths.map((w) => '-'.repeat(w)).join('-|-'),
        ...all.slice(1).map(line),
      ].join('\n'),
    );
  }
}

export function stripOutputs(text: string): string {
  const nb = JSON.parse(text) as { cells: Array<Record<string, unknown>> };
  for (const c of nb.cells) {
    if (c.cell_type !== 'code') continue;
    c.outputs = [];
    c.execution_count = null;
  }
  return JSON.stringify(nb);
}

export async function runTrigger(
  path: string,
  c: Pick<Case, 'timeoutS' | 'kernelName' | 'parameters'>,
): Promise<{ out: RunOutcome; executed?: Notebook }> {
  const timeoutS = c.timeoutS ?? DEFAULT_TIMEOUT_S;
  const request: RunRequest = {
    server: server.address,
    notebook: path,
    verbose: false,
    timeouts: {},
    ...(c.kernelName ? { kernelName: c.kernelName } : {}),
    ...(c.parameters ? { parameters: c.parameters } : {}),
  };
  const started = Date.now();
  const out = await runNotebook({
    request,
    token: server.token,
    limits: { startTimeoutMs: START_LIMIT_MS, cellTimeoutMs: timeoutS * 1000, cleanupTimeoutMs: 10_000 },
  });
  if (!out.notebook) return { out };
  const executed = buildExecutedNotebook(
    out.notebook,
    out.exec?.cells ?? [],
    out.exec?.outputs ?? { outputs: () => [] },
    {
      runId: 'parity',
      notebook: path,
      server: null,
      kernelName: out.record.kernelName,
      status: out.record.status,
      startedAt: started,
      endedAt: Date.now(),
      error: out.record.error,
    },
    { errorMarkers: false },
  );
  return { out, executed };
}

export async function runReference(
  path: string,
  text: string,
  c: Pick<Case, 'timeoutS' | 'kernelName' | 'nbclientOptions'>,
  env?: Record<string, string>,
): Promise<NbclientRun> {
  const dir = join(server.rootDir, path.slice(0, path.lastIndexOf('/')));
  const once = (): Promise<NbclientRun> =>
    runNbclient({
      notebookText: text,
      cwd: dir,
      timeoutSeconds: c.timeoutS ?? DEFAULT_TIMEOUT_S,
      kernelName: c.kernelName,
      env,
      options: c.nbclientOptions,
    });
  // The reference is a tool, not the subject: when nbclient's own kernel dies before it answers
  // kernel_info (its start, not the notebook), nbclient is asked again, at most twice.
  let ref = await once();
  for (
    let i = 0;
    i < 2 && ref.verdict.kind === 'other' && /Kernel died before replying to kernel_info/.test(ref.stderr);
    i++
  ) {
    ref = await once();
  }
  return ref;
}

/** Compares one notebook's two runs, records the table row, and fails on any difference. */
export function compare(
  label: string,
  trig: { out: RunOutcome; executed?: Notebook },
  ref: NbclientRun,
  note?: string,
): void {
  const a = normaliseCells(trig.executed as unknown as { cells: Array<Record<string, unknown>> }, norm);
  const b = normaliseCells(ref.notebook, norm);
  const tv = nbtriggerVerdict(trig.out);
  // After a timeout both sides interrupt the kernel and keep the cell's KeyboardInterrupt: compared exactly.
  if (tv.kind === 'died' && ref.verdict.kind === 'died') deadCellCountRace(a, b);
  const gap2 = ranAfterErrorGap(trig.out, a, b);
  const diffs = diffCells(a, b);
  const tk = verdictKey(tv, norm);
  const rk = verdictKey(ref.verdict, norm);
  if (tk !== rk) diffs.unshift(`verdict: nbtrigger ${tk}, nbclient ${rk}`);
  rows.push({
    notebook: label,
    nbtrigger: verdictText(tv),
    nbclient: verdictText(ref.verdict),
    compared: Math.max(a.length, b.length),
    equal: diffs.length > 0 ? 'NO' : gap2 ? `yes, ${gap2}` : 'yes',
  });
  kept.set(label, { trig: a, ref: b, trigVerdict: tk, refVerdict: rk });
  const dump = process.env.NBTRIGGER_PARITY_DUMP;
  if (dump) {
    mkdirSync(dump, { recursive: true });
    writeFileSync(
      join(dump, `${label.replace(/[^\w.-]+/g, '_')}.json`),
      JSON.stringify(
        { nbtrigger: { verdict: tk, cells: a }, nbclient: { verdict: rk, cells: b }, diffs, gaps: [gap2] },
        null,
        1,
      ),
    );
  }
  assert.notEqual(
    ref.verdict.kind,
    'other',
    `nbclient's own run of ${label} broke, so it is no reference (stderr: ${ref.stderr.slice(-1500)})`,
  );
  assert.deepEqual(
    diffs,
    [],
    `${label}: nbtrigger and nbclient differ${note ? ` (${note})` : ''}:\n${diffs.join('\n')}`,
  );
}
