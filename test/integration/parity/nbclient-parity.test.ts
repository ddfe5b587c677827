/**
 * Parity: every notebook of the reference executors' test corpora (test/corpus/nbclient and
 * test/corpus/papermill, see test/corpus/README.md) runs through nbtrigger (runner → executed
 * notebook, against one real local Jupyter Server) and through Debian's nbclient
 * (test/helpers/nbclient.ts), on the same machine in the same test, and the two must agree cell by
 * cell: whether a code cell ran, its execution count, stream text (consecutive chunks merged), the
 * MIME bundles of results and displays, error names and values; and the verdict (ok / failed with
 * which ename / kernel died / timed out / no such kernel). No verdict is stored: nbclient's live
 * run is the reference, and a reference run that itself broke (verdict "other") fails the test.
 *
 * Optional packages: JupyterWidgets and Output depend on ipywidgets, Other Comms on comm. The test
 * names say whether the package is installed here, and the two sides are compared either way
 * (without it both fail at the import). Debian's ipywidgets 6 speaks widget protocol 1, which
 * Debian's nbclient 0.7.2 cannot read (KeyError 'state'); the reference helper presents those
 * messages in protocol 2's form (test/helpers/nbclient.ts), so nbclient's own Output-widget
 * mimicry is the reference for where each output lands.
 *
 * Normalised, because it legitimately differs between two runs: memory addresses (`at 0x7f…`),
 * timestamps a cell prints, temp-folder paths, ANSI colour codes, base64 line wrapping, widget
 * model ids. Tracebacks are not compared (they carry file paths and terminal widths).
 *
 * Special cases (the corpus README): Interrupt and papermill's keyboard_interrupt end by a 3 s
 * cell timeout on both sides; Parallel Execute A/B run concurrently on each side with
 * NBEXECUTE_TEST_PARALLEL_TMPDIR in the kernels' environment, as nbclient's own test does;
 * Check History in Memory passes on both sides: both keep kernel history in memory (see HISTORY in parity-cases.ts);
 * notebooks that need packages this machine lacks are skipped with the reason in the test name.
 * Prints a parity table at the end; NBTRIGGER_PARITY_DUMP=DIR also writes each side's normalised cells.
 * Running and comparing one notebook on both sides is in parity-run.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Notebook } from '../../../functions/notebook/model.js';
import type { RunOutcome } from '../../../functions/run/runner.js';
import type { NbclientRun } from '../../helpers/nbclient.js';
import {
  diffCells,
  ranAfterErrorGap,
  verdictKey,
  type NormCell,
  type NormOutput,
} from '../../helpers/parity-compare.js';
import { CASES } from './parity-cases.js';
import {
  CORPUS,
  compare,
  HAVE_CORPUS,
  HAVE_NBCLIENT,
  INSTALLED,
  kept,
  norm,
  parallelDirs,
  runReference,
  runTrigger,
  server,
  startParity,
  stopParity,
  stripOutputs,
} from './parity-run.js';

before(startParity);
after(stopParity);

// A hang bound per notebook: the kernel's start alone may take up to the runner's 240 s start limit.
const T = { timeout: 420_000 };

describe('parity with nbclient', {
  concurrency: 2,
  skip: !HAVE_CORPUS ? `corpus not found at ${CORPUS}` : !HAVE_NBCLIENT ? 'nbclient is not installed' : false,
}, () => {
  for (const c of CASES) {
    const label = `${c.dir}/${c.file}`;
    if (c.skip) {
      test(`${label}: skipped: ${c.skip}`, { skip: c.skip }, () => undefined);
      continue;
    }
    const depends = c.dependsOn
      ? `outcome depends on ${c.dependsOn}, ${INSTALLED[c.dependsOn] ? 'installed' : 'not installed'} here`
      : '';
    test(
      `${label}${[depends, c.note]
        .filter(Boolean)
        .map((x) => ` (${x})`)
        .join('')}`,
      T,
      async () => {
        const path = `${c.dir}/${c.file}`;
        const text = await readFile(join(server.rootDir, path), 'utf8');
        let trig: { out: RunOutcome; executed?: Notebook };
        let ref: NbclientRun;
        if (c.parameters) {
          // nbclient has no parameters: it runs the notebook nbtrigger built, injected cell included.
          trig = await runTrigger(path, c);
          assert.ok(trig.out.notebook, trig.out.error?.message);
          ref = await runReference(path, stripOutputs(JSON.stringify(trig.out.notebook)), c);
          const injected = trig.out.notebook.cells.filter((x) =>
            (x.metadata as { tags?: string[] }).tags?.includes('injected-parameters'),
          );
          assert.equal(injected.length, 1, 'one injected-parameters cell');
        } else {
          [trig, ref] = await Promise.all([runTrigger(path, c), runReference(path, stripOutputs(text), c)]);
        }
        compare(label, trig, ref, c.note);
      },
    );
  }

  test(
    'nbclient/Parallel Execute A + B: run at once on each side, ' +
      "NBEXECUTE_TEST_PARALLEL_TMPDIR set (as nbclient's test)",
    T,
    async () => {
      const refDir = await mkdtemp(join(tmpdir(), 'nbtrigger-parallel-ref-'));
      parallelDirs.push(refDir);
      const paths = ['nbclient/Parallel Execute A.ipynb', 'nbclient/Parallel Execute B.ipynb'];
      const texts = await Promise.all(paths.map((p) => readFile(join(server.rootDir, p), 'utf8')));
      const [trigs, refs] = await Promise.all([
        Promise.all(paths.map((p) => runTrigger(p, {}))),
        Promise.all(
          paths.map((p, i) => runReference(p, stripOutputs(texts[i]!), {}, { NBEXECUTE_TEST_PARALLEL_TMPDIR: refDir })),
        ),
      ]);
      const errors: string[] = [];
      paths.forEach((p, i) => {
        try {
          compare(p, trigs[i]!, refs[i]!);
        } catch (e) {
          errors.push((e as Error).message);
        }
      });
      assert.deepEqual(errors, []);
    },
  );
});

describe('parity: the comparison catches a difference', { skip: !HAVE_CORPUS || !HAVE_NBCLIENT }, () => {
  const pick = (name: string): { trig: NormCell[]; ref: NormCell[]; trigVerdict: string; refVerdict: string } => {
    const k = kept.get(name);
    assert.ok(k, `${name} ran above`);
    return structuredClone(k);
  };
  const firstWith = (cells: NormCell[], type: string): NormOutput => {
    const o = cells.flatMap((c) => c.outputs).find((x) => x.type === type);
    assert.ok(o, `an output of type ${type}`);
    return o;
  };

  test('stream text, MIME keys, text/plain, image data, error name and value, execution count, verdict', () => {
    const cases: Array<[string, string, (k: ReturnType<typeof pick>) => void]> = [
      [
        'stream text',
        'nbclient/Factorials.ipynb',
        (k) => {
          firstWith(k.trig, 'stream').text += 'x';
        },
      ],
      [
        'stream name',
        'nbclient/Factorials.ipynb',
        (k) => {
          firstWith(k.trig, 'stream').name = 'stderr';
        },
      ],
      [
        'split stream vs other output',
        'nbclient/HelloWorld.ipynb',
        (k) => {
          k.trig[0]!.outputs.push({ type: 'display_data', data: {} });
        },
      ],
      [
        'MIME key',
        'nbclient/SVG.ipynb',
        (k) => {
          const o = firstWith(k.trig, 'execute_result');
          o.data = { ...o.data, 'text/html': '' };
        },
      ],
      [
        'text/plain',
        'nbclient/update-display-id.ipynb',
        (k) => {
          firstWith(k.trig, 'display_data').data!['text/plain'] = '99';
        },
      ],
      [
        'image data',
        'nbclient/Inline Image.ipynb',
        (k) => {
          const o = firstWith(k.trig, 'execute_result');
          o.data!['image/png'] = o.data!['image/png']!.slice(1);
        },
      ],
      [
        'error name',
        'nbclient/Error.ipynb',
        (k) => {
          firstWith(k.trig, 'error').ename = 'ValueError';
        },
      ],
      [
        'error value',
        'nbclient/Error.ipynb',
        (k) => {
          firstWith(k.trig, 'error').evalue = 'other';
        },
      ],
      [
        'execution count',
        'nbclient/Factorials.ipynb',
        (k) => {
          k.trig[1]!.count = 7;
        },
      ],
      [
        'cell not run',
        'nbclient/Skip Execution with Cell Tag.ipynb',
        (k) => {
          k.trig[0]!.executed = true;
        },
      ],
      [
        'cleared output',
        'nbclient/Clear Output.ipynb',
        (k) => {
          k.trig[1]!.outputs.unshift({ type: 'stream', name: 'stdout', text: '0\n' });
        },
      ],
    ];
    for (const [what, name, perturb] of cases) {
      const k = pick(name);
      assert.deepEqual(diffCells(k.trig, k.ref), [], `${name} agrees before the change`);
      perturb(k);
      assert.notDeepEqual(diffCells(k.trig, k.ref), [], `a changed ${what} in ${name} is caught`);
    }
    const e = pick('nbclient/Error.ipynb');
    assert.equal(e.trigVerdict, e.refVerdict);
    assert.notEqual(
      verdictKey({ kind: 'failed', ename: 'ZeroDivisionError', evalue: 'x' }, norm),
      e.refVerdict,
      'a changed verdict value is caught',
    );
    assert.notEqual(verdictKey({ kind: 'timeout' }, norm), verdictKey({ kind: 'died' }, norm));
  });

  test('the named gaps excuse only their own case', () => {
    const ran: NormCell = {
      code: 1,
      executed: true,
      count: 2,
      outputs: [{ type: 'stream', name: 'stdout', text: 'x' }],
    };
    const notRun: NormCell = { code: 1, executed: false, count: null, outputs: [] };
    const failed: NormCell = {
      code: 0,
      executed: true,
      count: 1,
      outputs: [{ type: 'error', ename: 'SyntaxError', evalue: 'e' }],
    };
    const outcome = (warnings: string[]): RunOutcome => ({
      record: { warnings } as unknown as RunOutcome['record'],
      notebook: {
        cells: [{ cell_type: 'markdown' }, { cell_type: 'code' }, { cell_type: 'code' }],
      } as unknown as Notebook,
    });
    const warned = outcome([
      'cell 2 ran after an earlier error: its request reached the kernel after the abort window',
    ]);
    let a = [failed, ran];
    assert.match(ranAfterErrorGap(warned, a, [failed, notRun]) ?? '', /code cell 1 ran after the error/);
    assert.deepEqual(diffCells(a, [failed, notRun]), []);
    a = [failed, ran];
    assert.equal(ranAfterErrorGap(outcome([]), a, [failed, notRun]), undefined, 'no warning, no excuse');
    assert.notDeepEqual(diffCells(a, [failed, notRun]), []);
  });
});
