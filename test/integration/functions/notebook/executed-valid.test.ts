/**
 * Integration: executed notebooks built from real runs (local Jupyter Server + ipykernel) are
 * written to disk and validated by Debian's nbformat (`nbformat.validate(nbformat.read(f, 4))`,
 * run with `-W error` so that nbformat's silent repairs of missing or duplicate ids count as failures):
 * succeeded, failed, timed-out and truncated runs, parameters injected, and the nbclient and
 * papermill corpus notebooks (nbformat 4.0 to 4.5, old papermill error markers).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ICodeCell, IStream } from '@jupyterlab/nbformat';
import { buildExecutedNotebook, type ExecutedFacts } from '../../../../functions/notebook/executed.js';
import { ERROR_MARKER_TAG } from '../../../../functions/notebook/error-markers.js';
import { parseNotebook, type Notebook } from '../../../../functions/notebook/model.js';
import { injectParameters } from '../../../../functions/notebook/parameters.js';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { runNotebook, type RunLimits, type RunOutcome } from '../../../../functions/run/runner.js';
import { notebookJson, startTestServer, type CellSpec, type TestServer } from '../../../helpers/jupyter.js';

const LIMITS: Partial<RunLimits> = {
  startTimeoutMs: 10_000,
  cellTimeoutMs: 20_000,
  runTimeoutMs: 60_000,
  cleanupTimeoutMs: 10_000,
};
const T = { timeout: 90_000 };
const SHARED = new URL('../../../../../test/corpus/', import.meta.url);
const VALIDATE = 'import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))';
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

let server: TestServer;
let dir: string;
before(async () => {
  server = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'nbtrigger-executed-'));
});
after(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs nbformat's validator on a file; resolves to its error text, or '' when valid. */
function nbformatErrors(file: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('/usr/bin/python3', ['-W', 'error', '-c', VALIDATE, file], (err, _out, stderr) =>
      resolve(err ? stderr || err.message : ''),
    );
  });
}

async function run(path: string, nb: Notebook, limits: Partial<RunLimits> = {}): Promise<RunOutcome> {
  await server.writeFile(path, JSON.stringify(nb));
  const out = await runNotebook({
    request: parseMessage(`${server.hostPort} /${path}`),
    token: server.token,
    limits: { ...LIMITS, ...limits },
  });
  assert.deepEqual(await server.kernels(), [], 'no kernel is left on the server');
  return out;
}

/** Builds the executed notebook of a run, writes it, validates it; returns it. */
async function buildAndValidate(
  name: string,
  out: RunOutcome,
  parameters?: ExecutedFacts['parameters'],
): Promise<Notebook> {
  assert.ok(out.notebook && out.exec, `the run of ${name} got as far as executing (${out.error?.message})`);
  const startedAt = Date.parse(out.record.startedAt);
  const file = join(dir, `${name.replace(/[^\w.-]/g, '_')}.ipynb`);
  const built = buildExecutedNotebook(out.notebook, out.exec.cells, out.exec.outputs, {
    runId: `run-${name}`,
    notebook: out.record.notebook!,
    output: file,
    parameters,
    server: out.record.server,
    kernelName: out.record.kernelName,
    languageInfo: out.exec.languageInfo,
    status: out.record.status,
    startedAt,
    endedAt: startedAt + out.record.durationMs,
    error: out.record.error,
    warnings: out.record.warnings,
  });
  await writeFile(file, JSON.stringify(built, null, 1));
  assert.equal(await nbformatErrors(file), '', `${name}: nbformat finds the written notebook valid`);
  assert.ok(!(await readFile(file, 'utf8')).includes(server.token), 'no token in the notebook');
  return built;
}

const status = (nb: Notebook, i: number): unknown => (nb.cells[i]!.metadata.papermill as { status?: string }).status;
const nbMeta = (nb: Notebook): Record<string, Record<string, unknown>> =>
  nb.metadata as Record<string, Record<string, unknown>>;

describe('the validator itself', () => {
  const invalid: Array<[string, unknown, RegExp]> = [
    [
      'a 4.5 cell without id (nbformat would repair it silently)',
      { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'markdown', metadata: {}, source: 'x' }] },
      /MissingIDFieldWarning/,
    ],
    [
      'duplicate ids',
      {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [1, 2].map(() => ({ id: 'a', cell_type: 'markdown', metadata: {}, source: 'x' })),
      },
      /DuplicateCellId/,
    ],
    ['an unknown top-level key', { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [], extra: 1 }, /extra/],
  ];
  for (const [name, nb, why] of invalid) {
    test(`rejects ${name}, so a pass means something`, async () => {
      const file = join(dir, 'invalid.ipynb');
      await writeFile(file, JSON.stringify(nb));
      assert.match(await nbformatErrors(file), why);
    });
  }
});

describe('executed notebooks from real runs are valid nbformat', () => {
  const rich: CellSpec[] = [
    { type: 'markdown', source: '# Report' },
    { source: 'n = 1\nlabel = "default"', tags: ['parameters'] },
    'import sys\nprint("out", n)\nsys.stderr.write("err\\n")',
    `import base64\nfrom IPython.display import Image, display\ndisplay(Image(data=base64.b64decode("${PNG_B64}")))`,
    'from IPython.display import display, clear_output\nh = display("a", ' +
      'display_id=True)\nh.update("b")\nclear_output(wait=True)\nprint("after clear")',
    { source: 'raise KeyError("allowed")', tags: ['raises-exception'] },
    { source: 'raise RuntimeError("skipped")', tags: ['skip-execution'] },
    '',
    { type: 'raw', source: 'raw' },
    '{"n": n, "label": label}',
  ];

  test('a succeeded run with parameters, streams, images, displays, tags', T, async () => {
    const params = { n: 41, label: 'it\'s "quoted"\n' };
    const nb = injectParameters(parseNotebook(notebookJson(rich), 'rich.ipynb'), params, undefined);
    const built = await buildAndValidate('succeeded', await run('rich.ipynb', nb), params);
    assert.equal(nbMeta(built).nbtrigger!.status, 'succeeded');
    const last = built.cells[10] as ICodeCell;
    assert.deepEqual(last.outputs, [
      {
        output_type: 'execute_result',
        data: { 'text/plain': `{'n': 41, 'label': 'it\\'s "quoted"\\n'}` },
        metadata: {},
        execution_count: last.execution_count,
      },
    ]);
    assert.ok(built.cells.every((_, i) => status(built, i) === 'completed'));
    assert.deepEqual(nbMeta(built).papermill!.parameters, params);
  });

  test('a failed run: error output in the failing cell, later cells pending, markers', T, async () => {
    const nb = parseNotebook(
      notebookJson(['x = 1', { type: 'markdown', source: 'm' }, 'print("before")\n1/0', 'print("never")']),
      'fail.ipynb',
    );
    const built = await buildAndValidate('failed', await run('fail.ipynb', nb));
    // markers: [top, x=1, md, anchor, failing, never]
    assert.deepEqual(
      built.cells.map((c) => (c.metadata.tags as string[] | undefined)?.includes(ERROR_MARKER_TAG) ?? false),
      [true, false, false, true, false, false],
    );
    const failing = built.cells[4] as ICodeCell;
    assert.deepEqual(
      failing.outputs.map((o) => o.output_type),
      ['stream', 'error'],
    );
    assert.equal((failing.outputs[1] as { ename?: string }).ename, 'ZeroDivisionError');
    assert.deepEqual(
      [status(built, 4), status(built, 5), (built.cells[5] as ICodeCell).execution_count],
      ['failed', 'pending', null],
    );
    assert.match(String(built.cells[0]!.source), /In \[2\]/);
  });

  test('a timed-out run and a truncated run', T, async () => {
    const slow = parseNotebook(
      notebookJson(['print("start")', 'import time\ntime.sleep(30)', 'print("never")']),
      'slow.ipynb',
    );
    const timed = await buildAndValidate('timed-out', await run('slow.ipynb', slow, { cellTimeoutMs: 1500 }));
    assert.equal(nbMeta(timed).nbtrigger!.status, 'timed_out');
    // [top marker, start, anchor marker, sleep, never]
    assert.deepEqual([status(timed, 1), status(timed, 3), status(timed, 4)], ['completed', 'failed', 'pending']);
    const loud = parseNotebook(notebookJson(['print("x" * 5000)']), 'loud.ipynb');
    const cut = await buildAndValidate('truncated', await run('loud.ipynb', loud, { maxOutputChars: 1000 }));
    assert.equal((cut.cells[0]!.metadata.nbtrigger as { outputTruncated?: boolean }).outputTruncated, true);
    assert.match(String(((cut.cells[0] as ICodeCell).outputs[0] as IStream).text), /truncated/);
  });
});

describe('corpus notebooks, executed and validated', () => {
  const nbclient = [
    'HelloWorld',
    'Inline Image',
    'SVG',
    'Unicode',
    'UnicodePy3',
    'update-display-id',
    'Clear Output',
    'Error',
    'Empty Cell',
    'Factorials',
    'Skip Exceptions with Cell Tags',
    'Skip Execution with Cell Tag',
    'Disable Stdin',
  ];
  for (const name of nbclient) {
    test(`nbclient: ${name}`, T, async () => {
      await copyFile(new URL('nbclient/python.png', SHARED), join(server.rootDir, 'python.png'));
      const nb = parseNotebook(await readFile(new URL(`nbclient/${name}.ipynb`, SHARED), 'utf8'), name);
      const built = await buildAndValidate(`nbclient-${name}`, await run(`${name.replace(/ /g, '_')}.ipynb`, nb));
      assert.equal(built.nbformat_minor, 5);
    });
  }

  test('papermill: broken1.ipynb (4.1, old error markers) fails at assert False with fresh markers', T, async () => {
    const nb = parseNotebook(await readFile(new URL('papermill/broken1.ipynb', SHARED), 'utf8'), 'broken1');
    const built = await buildAndValidate('papermill-broken1', await run('broken1.ipynb', nb));
    const markers = built.cells.filter((c) => (c.metadata.tags as string[] | undefined)?.includes(ERROR_MARKER_TAG));
    assert.equal(markers.length, 2, 'the two old markers are replaced by two new ones');
    assert.ok(!markers.some((m) => String(m.source).includes('papermill encountered')));
    const failing = built.cells.find(
      (c) => c.cell_type === 'code' && (c as ICodeCell).outputs.some((o) => o.output_type === 'error'),
    ) as ICodeCell;
    assert.equal(
      (failing.outputs.find((o) => o.output_type === 'error') as { ename?: string }).ename,
      'AssertionError',
    );
  });

  test('papermill: simple_execute.ipynb with a parameter', T, async () => {
    const nb = injectParameters(
      parseNotebook(await readFile(new URL('papermill/simple_execute.ipynb', SHARED), 'utf8'), 'simple'),
      { msg: 'Hi' },
      undefined,
    );
    const built = await buildAndValidate('papermill-simple', await run('simple_execute.ipynb', nb), { msg: 'Hi' });
    assert.deepEqual((built.cells[2] as ICodeCell).outputs, [{ output_type: 'stream', name: 'stdout', text: 'Hi\n' }]);
  });
});
