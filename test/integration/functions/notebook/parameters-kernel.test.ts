/**
 * Integration: parameters injected with injectParameters, run by the runner on a real local
 * Jupyter Server with ipykernel. The notebook prints `json.dumps` of every parameter; the test
 * compares what the kernel printed with what it was given. Also papermill's own test notebooks
 * (test/corpus/papermill) run with parameters as papermill would inject them.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { IStream } from '@jupyterlab/nbformat';
import { parseNotebook, type Notebook } from '../../../../functions/notebook/model.js';
import { injectParameters, INJECTED_TAG, parseCliParameters } from '../../../../functions/notebook/parameters.js';
import { pythonLiteral } from '../../../../functions/notebook/translators/python.js';
import { parseExactJson, type Parameters, type ParamValue } from '../../../../functions/notebook/translators/values.js';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { runNotebook, type RunLimits, type RunOutcome } from '../../../../functions/run/runner.js';
import { notebookJson, startTestServer, type TestServer } from '../../../helpers/jupyter.js';
import { HOSTILE, normalize, randomValue, seeded } from './param-cases.js';

const LIMITS: Partial<RunLimits> = {
  startTimeoutMs: 10_000,
  cellTimeoutMs: 30_000,
  runTimeoutMs: 60_000,
  cleanupTimeoutMs: 10_000,
};
const T = { timeout: 90_000 };
const CORPUS = new URL('../../../../../test/corpus/papermill/', import.meta.url);

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

/** Writes the notebook under the server root and runs it; no kernel may be left behind. */
async function run(path: string, nb: Notebook): Promise<RunOutcome> {
  await server.writeFile(path, JSON.stringify(nb));
  const out = await runNotebook({
    request: parseMessage(`${server.hostPort} /${path}`),
    token: server.token,
    limits: LIMITS,
  });
  assert.deepEqual(await server.kernels(), [], 'no kernel is left on the server');
  return out;
}

function stdout(out: RunOutcome, cell: number): string {
  return out
    .exec!.outputs.outputs(cell)
    .filter((o): o is IStream => o.output_type === 'stream' && o.name === 'stdout')
    .map((o) => String(o.text))
    .join('');
}

/** A notebook with defaults in a `parameters` cell, then a cell printing each name's value as JSON. */
function echoNotebook(names: string[]): Notebook {
  const defaults = names.map((n) => `${n} = None`).join('\n');
  const print = `print(json.dumps({n: globals()[n] for n in ${pythonLiteral(names)}}))`;
  const echo = `import json, sys\nsys.set_int_max_str_digits(0)\n${print}`;
  return parseNotebook(notebookJson([{ source: defaults, tags: ['parameters'] }, echo]), 'echo.ipynb');
}

/** Injects, runs, and compares every value the kernel printed with the one given. */
async function roundTrip(path: string, params: Parameters): Promise<void> {
  const names = Object.keys(params);
  const nb = injectParameters(echoNotebook(names), params, undefined);
  assert.deepEqual(
    nb.cells.map((c) => c.metadata.tags),
    [['parameters'], [INJECTED_TAG], undefined],
  );
  const out = await run(path, nb);
  assert.equal(out.error, undefined, out.error?.message);
  assert.equal(out.record.status, 'succeeded');
  const printed = parseExactJson(stdout(out, 2)) as Record<string, ParamValue>;
  for (const name of names) {
    assert.deepEqual(
      normalize(printed[name]),
      normalize(params[name]),
      `${name}: sent ${JSON.stringify(params[name])?.slice(0, 60)}, ` +
        `kernel printed ${JSON.stringify(printed[name])?.slice(0, 60)}`,
    );
  }
}

describe('parameters through a real kernel', () => {
  test('hostile strings come back unchanged', T, async () => {
    await roundTrip('hostile.ipynb', Object.fromEntries(HOSTILE.map((s, i) => [`s${i}`, s])));
  });

  test('typed values: ints, floats (1.0, -0.0, 1e300), big ints, null, booleans, lists, objects', T, async () => {
    await roundTrip('typed.ipynb', {
      ...parseCliParameters([
        ['one', '1'],
        ['onef', '1.0'],
        ['negz', '-0.0'],
        ['huge', '1e300'],
        ['big', '123456789012345678901234567890'],
        ['word', 'hello'],
        ['quoted', '"007"'],
        ['flag', 'true'],
        ['nothing', 'null'],
        ['list', '[1, 2.0, "x"]'],
        ['obj', '{"k\\"": {"n": [null]}}'],
      ]),
      frac: 0.1,
      neg: -42,
    });
  });

  test('seeded random values', T, async () => {
    const rand = seeded(7);
    await roundTrip(
      'random.ipynb',
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`r${i}`, randomValue(rand, 3)])),
    );
  });

  test('a second injection replaces the first: the kernel sees only the new values', T, async () => {
    const first = injectParameters(echoNotebook(['a']), { a: 'first' }, 'python');
    const second = injectParameters(first, { a: 'second' }, 'python');
    assert.equal(second.cells.filter((c) => c.metadata.tags?.includes(INJECTED_TAG)).length, 1);
    const out = await run('reinject.ipynb', second);
    assert.equal(stdout(out, 2), '{"a": "second"}\n');
  });
});

async function corpus(name: string): Promise<Notebook> {
  return parseNotebook(await readFile(new URL(name, CORPUS), 'utf8'), name);
}

describe("papermill's test notebooks", () => {
  test('simple_execute.ipynb: msg injected after the parameters cell is printed', T, async () => {
    const nb = injectParameters(await corpus('simple_execute.ipynb'), { msg: 'Hello "papermill" \\ 😀' }, undefined);
    assert.deepEqual(
      nb.cells.map((c) => c.metadata.tags ?? []),
      [['parameters'], [INJECTED_TAG], [], []],
    );
    const out = await run(join('pm', 'simple_execute.ipynb'), nb);
    assert.equal(out.record.status, 'succeeded', out.error?.message);
    assert.equal(stdout(out, 2), 'Hello "papermill" \\ 😀\n');
  });

  test('nb_version_4.4.ipynb: upgraded to 4.5 with ids, runs, prints the injected value', T, async () => {
    const nb = injectParameters(await corpus('nb_version_4.4.ipynb'), { var: parseExactJson('2.0') }, undefined);
    assert.equal(nb.nbformat_minor, 5);
    assert.ok(nb.cells.every((c) => typeof c.id === 'string'));
    const out = await run(join('pm', 'nb_version_4.4.ipynb'), nb);
    assert.equal(stdout(out, 2), '2.0\n', 'a float stays a float');
  });

  test('no_parameters.ipynb: injected at the top, with a warning', T, async () => {
    const warnings: string[] = [];
    const nb = injectParameters(await corpus('no_parameters.ipynb'), { msg: 'top' }, undefined, {
      onWarning: (w) => warnings.push(w),
    });
    assert.equal(warnings.length, 1);
    assert.deepEqual(nb.cells[0]!.metadata.tags, [INJECTED_TAG]);
    const out = await run(join('pm', 'no_parameters.ipynb'), nb);
    // The notebook's own `msg = None` runs after the injected cell, as under papermill.
    assert.equal(stdout(out, 2), 'None\n');
  });

  const translatorTitle =
    'notimplemented_translator.ipynb: an R kernel gets R code; a kernel language with no translator is refused';
  test(translatorTitle, async () => {
    const nb = injectParameters(await corpus('notimplemented_translator.ipynb'), { msg: 'x', n: 1 }, undefined);
    assert.equal(nb.cells[1]!.source, '# Parameters\nmsg = "x"\nn = 1\n');
    const julia = await corpus('notimplemented_translator.ipynb');
    julia.metadata.kernelspec = { name: 'julia-1.9', display_name: 'Julia', language: 'julia' };
    assert.throws(() => injectParameters(julia, { msg: 'x' }, undefined), /no translator for kernel language "julia"/);
  });
});
