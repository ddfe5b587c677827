/**
 * Test fixture: runs a notebook through Jupyter's reference executor, nbclient (Debian's
 * python3-nbclient), from Node. A small Python program executes it with `nbclient.NotebookClient`
 * (kernel from the notebook's metadata unless given, a per-cell timeout, `record_timing` off, the
 * kernel's working folder given) and hands back the executed notebook and a verdict:
 * ok | failed (CellExecutionError ename/evalue) | died (DeadKernelError) | timeout (CellTimeoutError)
 * | no-kernel (NoSuchKernel) | other.
 *
 * nbclient mutates the notebook in place while it runs, so a notebook that stops early still
 * comes back with its outputs up to the failure (cells after it keep what the input had).
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPython, installKernelConfig } from '../../cli/local/jupyter-server.js';

export type Verdict =
  | { kind: 'ok' }
  | { kind: 'failed'; ename: string; evalue: string }
  | { kind: 'died' }
  | { kind: 'timeout' }
  | { kind: 'no-kernel'; name: string }
  | { kind: 'other'; message: string };

export interface NbclientRun {
  verdict: Verdict;
  /** The executed notebook (nbformat 4 JSON object); absent when nbclient never read it. */
  notebook?: { cells: Array<Record<string, unknown>>; metadata: Record<string, unknown> };
  stderr: string;
  durationMs: number;
}

export interface NbclientOptions {
  /** Notebook JSON text. */
  notebookText: string;
  /** The kernel's working folder (nbclient's `resources.metadata.path`). */
  cwd: string;
  /** Per-cell timeout in seconds (nbclient's `timeout`). */
  timeoutSeconds: number;
  /** Overrides the notebook's kernelspec name. */
  kernelName?: string;
  /** nbclient's `allow_errors` (default false: the first error ends the run, as in nbtrigger). */
  allowErrors?: boolean;
  /** Extra environment for the nbclient process and so its kernel. */
  env?: Record<string, string>;
  /** More `NotebookClient` options (traitlets by name, JSON values), e.g. `ipython_hist_file`. */
  options?: Record<string, unknown>;
  /** Kill the Python process after this long (default: 4 × timeout + 60 s). */
  hardLimitMs?: number;
}

const SCRIPT = `
import json, sys, traceback
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from jupyter_client.kernelspec import NoSuchKernel

args = json.load(sys.stdin)
nb = nbformat.reads(args["notebook"], as_version=4)
kw = dict(timeout=args["timeout"], allow_errors=args["allowErrors"], record_timing=False,
          startup_timeout=60, resources={"metadata": {"path": args["cwd"]}})
if args.get("kernelName"):
    kw["kernel_name"] = args["kernelName"]
kw.update(args.get("options") or {})
client = NotebookClient(nb, **kw)
# ipywidgets 6 (Debian bookworm's) speaks widget protocol 1: a comm_open's data is the state
# itself and its Output model lives in module "jupyter-js-widgets" with no "outputs" trait.
# nbclient 0.7.2 reads only protocol 2 ({"state": ..., "buffer_paths": ...}) and raises
# KeyError: 'state'. Present protocol 1 opens in protocol 2's form, so nbclient's own widget
# tracking and Output-widget mimicry run unchanged; protocol 2 messages pass through as they are.
from nbclient.output_widget import OutputWidget
client.widget_registry.setdefault("jupyter-js-widgets", {})["OutputModel"] = OutputWidget
_handle_comm_msg = client.handle_comm_msg
def handle_comm_msg(outs, msg, cell_index):
    data = msg["content"].get("data") or {}
    if msg["msg_type"] == "comm_open" and "state" not in data and "_model_name" in data:
        state = dict(data)
        if state.get("_model_name") == "OutputModel":
            state.setdefault("outputs", [])
        msg["content"]["data"] = {"state": state, "buffer_paths": []}
    return _handle_comm_msg(outs, msg, cell_index)
client.handle_comm_msg = handle_comm_msg
try:
    client.execute()
    verdict = {"kind": "ok"}
except CellExecutionError as e:
    verdict = {"kind": "failed", "ename": e.ename, "evalue": e.evalue}
except DeadKernelError:
    verdict = {"kind": "died"}
except CellTimeoutError:
    verdict = {"kind": "timeout"}
except NoSuchKernel as e:
    verdict = {"kind": "no-kernel", "name": str(e.args[0]) if e.args else ""}
except BaseException as e:
    verdict = {"kind": "other", "message": type(e).__name__ + ": " + str(e)}
    traceback.print_exc()
sys.stdout.write(json.dumps({"verdict": verdict, "notebook": json.loads(nbformat.writes(nb))}))
sys.stdout.flush()
`;

/** Runs one notebook through nbclient. Rejects only when the Python side itself breaks. */
export async function runNbclient(opts: NbclientOptions): Promise<NbclientRun> {
  const home = await mkdtemp(join(tmpdir(), 'nbtrigger-nbclient-'));
  const started = Date.now();
  try {
    // nbclient's kernels read the same kernel config as the test servers' kernels (the image's): the
    // comparison is of the runners, not of two kernels, one of them with ipykernel's stock flush and
    // shutdown races (docs/kernel.md).
    await installKernelConfig(join(home, 'ipython', 'profile_default'));
    const child = spawn(findPython(), ['-c', SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        IPYTHONDIR: join(home, 'ipython'),
        JUPYTER_RUNTIME_DIR: join(home, 'runtime'),
        JUPYTER_CONFIG_DIR: join(home, 'config'),
        PYDEVD_DISABLE_FILE_VALIDATION: '1',
        JUPYTER_PLATFORM_DIRS: '1',
        ...opts.env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-8000);
    });
    const limit = opts.hardLimitMs ?? opts.timeoutSeconds * 4000 + 60_000;
    const killer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.stdin.end(
      JSON.stringify({
        notebook: opts.notebookText,
        cwd: opts.cwd,
        timeout: opts.timeoutSeconds,
        allowErrors: opts.allowErrors === true,
        kernelName: opts.kernelName ?? null,
        options: opts.options ?? {},
      }),
    );
    const code = await new Promise<number | null>((res, rej) => {
      child.once('error', rej);
      child.once('close', (c) => res(c));
    });
    clearTimeout(killer);
    if (code !== 0 || stdout === '') throw new Error(`nbclient exited with ${code}: ${stderr.slice(-2000)}`);
    const parsed = JSON.parse(stdout) as { verdict: Verdict; notebook: NbclientRun['notebook'] };
    return { verdict: parsed.verdict, notebook: parsed.notebook, stderr, durationMs: Date.now() - started };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** One line for a verdict: `ok`, `failed ZeroDivisionError`, `died`, `timeout`, `no-kernel r`. */
export function verdictText(v: Verdict): string {
  switch (v.kind) {
    case 'failed':
      return `failed ${v.ename}`;
    case 'no-kernel':
      return `no-kernel ${v.name}`;
    case 'other':
      return `other ${v.message}`;
    default:
      return v.kind;
  }
}
