/**
 * The parity cases: every notebook of the reference executors' corpora (test/corpus/README.md),
 * with what each needs (a package, a short cell timeout, parameters, a kernel), and the notebooks
 * beyond the corpora that test/integration/parity/nbclient-parity.test.ts writes and runs on both sides.
 */
import type { Parameters } from '../../../functions/notebook/translators/values.js';
import type { CellSpec } from '../../helpers/jupyter.js';

/** Cell timeout of the cases that end by one (Interrupt, keyboard_interrupt), seconds. */
const SHORT_TIMEOUT_S = 3;

/**
 * Check History in Memory asserts `hist_file == ":memory:"`: nbclient launches its kernels with
 * `--HistoryManager.hist_file=:memory:`; nbtrigger's kernels get the same setting from
 * notebook-image/ipython_kernel_config.py (the image's /etc/ipython, the local server's IPYTHONDIR).
 */
const HISTORY = "kernel history in memory on both sides (nbclient's launcher; nbtrigger's ipython_kernel_config.py)";

export interface Case {
  /** `extra`: notebooks this test writes (EXTRA below). */
  dir: 'nbclient' | 'papermill' | 'extra';
  file: string;
  /** An optional Python package the outcome depends on (said in the test name; compared either way). */
  dependsOn?: 'ipywidgets' | 'comm';
  skip?: string | false;
  timeoutS?: number;
  /** Kernel for both sides, instead of the notebook's. */
  kernelName?: string;
  /** Papermill-style parameters: nbtrigger injects them; nbclient runs nbtrigger's injected notebook. */
  parameters?: Parameters;
  /** Extra NotebookClient options for nbclient. */
  nbclientOptions?: Record<string, unknown>;
  note?: string;
}

export const CASES: Case[] = [
  { dir: 'nbclient', file: 'Autokill.ipynb' },
  { dir: 'nbclient', file: 'Check History in Memory.ipynb', note: HISTORY },
  { dir: 'nbclient', file: 'Clear Output.ipynb' },
  { dir: 'nbclient', file: 'Disable Stdin.ipynb' },
  { dir: 'nbclient', file: 'Empty Cell.ipynb' },
  { dir: 'nbclient', file: 'Error.ipynb' },
  { dir: 'nbclient', file: 'Factorials.ipynb' },
  { dir: 'nbclient', file: 'HelloWorld.ipynb' },
  { dir: 'nbclient', file: 'Inline Image.ipynb' },
  {
    dir: 'nbclient',
    file: 'Interrupt.ipynb',
    timeoutS: SHORT_TIMEOUT_S,
    note: 'while True: a 3 s cell timeout on both sides',
  },
  { dir: 'nbclient', file: 'JupyterWidgets.ipynb', dependsOn: 'ipywidgets' },
  { dir: 'nbclient', file: 'Other Comms.ipynb', dependsOn: 'comm' },
  { dir: 'nbclient', file: 'Output.ipynb', dependsOn: 'ipywidgets' },
  // Parallel Execute A and B: one test below, both notebooks at once on each side.
  { dir: 'nbclient', file: 'SVG.ipynb' },
  { dir: 'nbclient', file: 'Skip Exceptions with Cell Tags.ipynb' },
  { dir: 'nbclient', file: 'Skip Exceptions.ipynb' },
  { dir: 'nbclient', file: 'Skip Execution with Cell Tag.ipynb' },
  { dir: 'nbclient', file: 'Sleep1s.ipynb' },
  { dir: 'nbclient', file: 'Unicode.ipynb' },
  { dir: 'nbclient', file: 'UnicodePy3.ipynb' },
  { dir: 'nbclient', file: 'update-display-id.ipynb' },

  {
    dir: 'extra',
    file: 'output-edge-cases.ipynb',
    note: 'written by this test: output folding corners the corpora miss',
  },

  {
    dir: 'papermill',
    file: 'binder.ipynb',
    note: "%%bash calling papermill's CLI from its checkout: fails alike on both sides",
  },
  { dir: 'papermill', file: 'blank-vscode.ipynb' },
  { dir: 'papermill', file: 'broken.ipynb' },
  { dir: 'papermill', file: 'broken1.ipynb', note: 'old papermill error-marker cells in the input are dropped' },
  { dir: 'papermill', file: 'broken2.ipynb' },
  {
    dir: 'papermill',
    file: 'complex_parameters.ipynb',
    note: "its parameters cell ends in a deliberately broken line (`= 2`) for papermill's inspect tests",
    parameters: { msg: 'Hello', a: 0.5, b: ['x', 'y\n"z"'], c: { k: [1, null, true] } },
  },
  {
    dir: 'papermill',
    file: 'gcs-simple_notebook.ipynb',
    note: 'papermill reads it from gs://; here it is a plain notebook (sleeps ~14 s)',
  },
  {
    dir: 'papermill',
    file: 'keyboard_interrupt.ipynb',
    timeoutS: SHORT_TIMEOUT_S,
    note: "papermill's test sends SIGINT to its own process; here sleep(60) meets a 3 s cell timeout on both sides",
  },
  { dir: 'papermill', file: 'line_magic_error.ipynb' },
  { dir: 'papermill', file: 'nb_version_4.4.ipynb', parameters: { var: 2 } },
  { dir: 'papermill', file: 'no_parameters.ipynb', parameters: { msg: 'injected at the top' } },
  {
    dir: 'papermill',
    file: 'notimplemented_translator.ipynb',
    note: 'papermill tests its missing R translator; no R kernel here, so both sides report the missing kernel',
  },
  { dir: 'papermill', file: 'read_check.ipynb', note: "check.txt written next to it, as papermill's test does" },
  { dir: 'papermill', file: 'report_mode_test.ipynb', parameters: { a: 2, b: 3 } },
  { dir: 'papermill', file: 'result_no_exec.ipynb', parameters: { foo: 2, bar: 'world' } },
  {
    dir: 'papermill',
    file: 's3-simple_notebook.ipynb',
    parameters: { msg: 'from s3' },
    note: 'papermill reads it from s3://; here a plain notebook',
  },
  { dir: 'papermill', file: 'simple_execute.ipynb', parameters: { msg: 'Hello' } },
  { dir: 'papermill', file: 'sysexit.ipynb' },
  {
    dir: 'papermill',
    file: 'sysexit0.ipynb',
    note: 'papermill itself forgives sys.exit(0); nbclient (and nbtrigger) report SystemExit',
  },
  { dir: 'papermill', file: 'sysexit1.ipynb' },
  { dir: 'papermill', file: 'systemexit.ipynb' },
  {
    dir: 'papermill',
    file: 'test_autosave.ipynb',
    kernelName: 'python3',
    note:
      'kernelspec "python" exists on neither side: run under python3 on both; ' +
      "papermill's autosave is papermill-only",
  },
  { dir: 'papermill', file: 'test_logging.ipynb', note: 'ggplot is not installed: fails alike' },
  { dir: 'papermill', file: 'test_notebooknode_io.ipynb' },
];

/** Output-folding corners beyond the corpora, run the same way on both sides. */
export const EXTRA: Record<string, CellSpec[]> = {
  'output-edge-cases.ipynb': [
    'import sys\nfrom IPython.display import display, update_display, clear_output, HTML, Markdown, JSON, Image\n' +
      'print("a")\nprint("b", file=sys.stderr)\nprint("c")\nsys.stdout.write("no newline")\nsys.stdout.flush()\n' +
      'display(HTML("<b>x</b>"))\nprint("after display")\nprint("err", file=sys.stderr)\n' +
      'print("err 2", file=sys.stderr)',
    'h = display("first", display_id="shared")',
    '# a new display with a known id refreshes the earlier one, then this cell is cleared\n' +
      'display("second", display_id="shared")\nclear_output()\nprint("second cell cleared")',
    'h.update("third")  # reaches the first cell only',
    'update_display("nobody", display_id="never-shown")\nprint("unknown id ignored")',
    'display("pending", display_id="p")\nclear_output(wait=True)\n' +
      'update_display("updated while the clear waits", display_id="p")',
    'for i in range(3):\n    clear_output(wait=True)\n    print(i)',
    'print("x\\ry")\nprint("progress 1", end="\\r")\nprint("progress 2")',
    'display(Markdown("**md**"), JSON({"b": 1, "a": [1, 2]}), metadata={"custom": True})',
    'Image("python.png", width=10)',
    'x = 1  # no output',
    { source: 'print("before")\nraise ValueError("allowed here")', tags: ['raises-exception'] },
    { source: 'print("skipped")', tags: ['skip-execution'] },
    'display("result", display_id="r")\n"last " + "result"',
    'update_display("r updated", display_id="r")',
  ],
};
