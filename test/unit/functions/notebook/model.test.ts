/** The notebook model: parse errors named, planned cells, tags, kernelspec. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NbtError } from '../../../../functions/errors.js';
import {
  cellTags,
  notebookKernelName,
  parseNotebook,
  plannedCells,
  sourceText,
  type Notebook,
} from '../../../../functions/notebook/model.js';

const nb = (cells: unknown[], extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells, ...extra });
const code = (source: string | string[], tags?: unknown, extra: Record<string, unknown> = {}) => ({
  cell_type: 'code',
  source,
  metadata: tags === undefined ? {} : { tags },
  outputs: [],
  execution_count: null,
  ...extra,
});
const md = (source: string) => ({ cell_type: 'markdown', source, metadata: {} });

describe('parseNotebook rejects', () => {
  const cases: [string, string, string, RegExp][] = [
    ['not JSON', '{"nbformat": 4,', 'file', /is not JSON \(/],
    ['empty text', '', 'file', /is not JSON/],
    ['a JSON array', '[]', 'file', /is not a JSON object/],
    ['JSON null', 'null', 'file', /is not a JSON object/],
    [
      'nbformat 1',
      JSON.stringify({ nbformat: 1, cells: [md('x')] }),
      'nbformat',
      /is not nbformat 4, 3 or 2 \(nbformat is 1\)/,
    ],
    ['nbformat 5', JSON.stringify({ nbformat: 5, cells: [md('x')] }), 'nbformat', /\(nbformat is 5\)/],
    [
      'nbformat 3 without worksheets',
      JSON.stringify({ nbformat: 3, cells: [md('x')] }),
      'worksheets',
      /\(nbformat 3\) has no "worksheets" list/,
    ],
    [
      'nbformat 2, worksheet without cells',
      JSON.stringify({ nbformat: 2, worksheets: [{}] }),
      'worksheets[0].cells',
      /worksheets\[0\] has no "cells"/,
    ],
    [
      'nbformat 3 with no cells at all',
      JSON.stringify({ nbformat: 3, nbformat_minor: 0, worksheets: [] }),
      'cells',
      /has no cells$/,
    ],
    ['nbformat missing', JSON.stringify({ cells: [md('x')] }), 'nbformat', /nbformat is missing/],
    ['nbformat as a string', JSON.stringify({ nbformat: '4', cells: [md('x')] }), 'nbformat', /nbformat is "4"/],
    ['no cells list', JSON.stringify({ nbformat: 4, worksheets: [] }), 'cells', /has no "cells" list/],
    ['cells not a list', JSON.stringify({ nbformat: 4, cells: {} }), 'cells', /has no "cells" list/],
    ['no cells', nb([]), 'cells', /has no cells$/],
    ['metadata a list', nb([md('x')], { metadata: [] }), 'metadata', /"metadata" is not an object/],
    ['cell not an object', nb([md('x'), 'code']), 'cells[1]', /cell 1 is not an object/],
    [
      'unknown cell_type',
      nb([{ cell_type: 'heading', source: 'x' }]),
      'cells[0].cell_type',
      /cell 0 has cell_type "heading", expected code, markdown or raw/,
    ],
    ['missing cell_type', nb([{ source: 'x' }]), 'cells[0].cell_type', /cell_type undefined/],
    [
      'source a number',
      nb([code('a'), { cell_type: 'code', source: 5 }]),
      'cells[1].source',
      /cell 1 "source" is not a string or list of strings/,
    ],
    [
      'source list with a number',
      nb([{ cell_type: 'raw', source: ['a', 1] }]),
      'cells[0].source',
      /"source" is not a string/,
    ],
    ['source missing', nb([{ cell_type: 'markdown' }]), 'cells[0].source', /"source"/],
    [
      'cell metadata a string',
      nb([{ cell_type: 'code', source: '', metadata: 'x' }]),
      'cells[0].metadata',
      /cell 0 "metadata" is not an object/,
    ],
  ];
  for (const [name, text, field, message] of cases) {
    it(name, () => {
      assert.throws(
        () => parseNotebook(text, 'dir/nb.ipynb'),
        (e: unknown) => {
          assert.ok(e instanceof NbtError);
          assert.equal(e.code, 'BAD_NOTEBOOK');
          assert.equal(e.details.field, field);
          assert.match(e.message, /^notebook "dir\/nb\.ipynb" /);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});

describe('parseNotebook accepts', () => {
  it('a notebook without top-level metadata (filled in as {})', () => {
    const n = parseNotebook(JSON.stringify({ nbformat: 4, nbformat_minor: 2, cells: [code('1')] }), 'x');
    assert.deepEqual(n.metadata, {});
    assert.equal(n.cells.length, 1);
  });
  it('cells without metadata and list sources', () => {
    const n = parseNotebook(
      nb([
        { cell_type: 'code', source: ['a = 1\n', 'a'] },
        { cell_type: 'raw', source: [] },
      ]),
      'x',
    );
    assert.equal(n.cells.length, 2);
  });
});

describe('sourceText', () => {
  const cases: [string | string[], string][] = [
    ['a\nb', 'a\nb'],
    [['a\n', 'b'], 'a\nb'],
    [[], ''],
    ['', ''],
  ];
  for (const [s, want] of cases) it(JSON.stringify(s), () => assert.equal(sourceText(s), want));
});

describe('cellTags', () => {
  const cases: [string, unknown, string[]][] = [
    ['no metadata', undefined, []],
    ['tags list', { tags: ['parameters', 'x'] }, ['parameters', 'x']],
    ['tags not a list', { tags: 'parameters' }, []],
    ['non-strings dropped', { tags: ['a', 1, null, 'b'] }, ['a', 'b']],
  ];
  for (const [name, metadata, want] of cases) {
    it(name, () => assert.deepEqual(cellTags({ cell_type: 'code', source: '', metadata } as never), want));
  }
});

describe('plannedCells', () => {
  it('keeps non-empty code cells with their notebook index and tag flags', () => {
    const n = parseNotebook(
      nb([
        md('# title'),
        code('x = 1'),
        code('   \n\t'),
        { cell_type: 'raw', source: 'raw' },
        code(['print(x)\n', 'x']),
        code('skip()', ['skip-execution']),
        code('raise ValueError()', ['raises-exception', 'other']),
        code([]),
        code('1/0', 'raises-exception'),
      ]),
      'nb',
    );
    assert.deepEqual(plannedCells(n), [
      { index: 1, source: 'x = 1', skip: false, allowError: false },
      { index: 4, source: 'print(x)\nx', skip: false, allowError: false },
      { index: 5, source: 'skip()', skip: true, allowError: false },
      { index: 6, source: 'raise ValueError()', skip: false, allowError: true },
      { index: 8, source: '1/0', skip: false, allowError: false },
    ]);
  });
  it('is empty for a notebook of markdown only', () =>
    assert.deepEqual(plannedCells(parseNotebook(nb([md('a'), md('b')]), 'nb')), []));
});

describe('notebookKernelName', () => {
  const cases: [string, unknown, string | undefined][] = [
    ['named', { kernelspec: { name: 'python3', display_name: 'Python 3' } }, 'python3'],
    ['no kernelspec', {}, undefined],
    ['empty name', { kernelspec: { name: '' } }, undefined],
    ['name not a string', { kernelspec: { name: 3 } }, undefined],
    ['kernelspec a string', { kernelspec: 'python3' }, undefined],
    ['kernelspec a list', { kernelspec: ['python3'] }, undefined],
  ];
  for (const [name, metadata, want] of cases) {
    it(name, () =>
      assert.equal(
        notebookKernelName({ nbformat: 4, nbformat_minor: 5, metadata, cells: [] } as unknown as Notebook),
        want,
      ),
    );
  }
});

describe('parseNotebook bounds', () => {
  it('more cells than the cap: BAD_NOTEBOOK naming the cap and its setting', () => {
    const text = nb(Array.from({ length: 11 }, () => code('1')));
    assert.equal(parseNotebook(text, 'n.ipynb', { maxCells: 11 }).cells.length, 11);
    assert.throws(
      () => parseNotebook(text, 'n.ipynb', { maxCells: 10 }),
      (e: NbtError) =>
        e.code === 'BAD_NOTEBOOK' &&
        /has 11 cells, more than the cap of 10 \(NBTRIGGER_MAX_CELLS\)/.test(e.message) &&
        e.details.field === 'cells',
    );
  });
  it('a cell source over the cap (a string or a list of lines): BAD_NOTEBOOK naming the cell and the cap', () => {
    for (const source of ['x'.repeat(101), ['x'.repeat(50), 'y'.repeat(51)]]) {
      const text = nb([md('m'), code(source)]);
      assert.equal(parseNotebook(text, 'n.ipynb', { maxCellSourceChars: 101 }).cells.length, 2);
      assert.throws(
        () => parseNotebook(text, 'n.ipynb', { maxCellSourceChars: 100 }),
        (e: NbtError) =>
          e.code === 'BAD_NOTEBOOK' &&
          /cell 1 source is 101 characters, more than the cap of 100 \(NBTRIGGER_MAX_CELL_SOURCE\)/.test(e.message) &&
          e.details.field === 'cells[1].source',
      );
    }
  });
  it('the defaults: 10,000 cells, 4 Mi characters per cell', () => {
    assert.throws(() => parseNotebook(nb(Array.from({ length: 10_001 }, () => md(''))), 'n.ipynb'), /cap of 10000/);
    assert.throws(() => parseNotebook(nb([code('x'.repeat(4 * 1024 * 1024 + 1))]), 'n.ipynb'), /cap of 4194304/);
  });
});
