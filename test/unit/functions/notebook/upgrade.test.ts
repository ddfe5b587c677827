/** nbformat 2 and 3 → 4.5, field by field as nbformat's converters; parseNotebook runs it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NbtError } from '../../../../functions/errors.js';
import { parseNotebook, plannedCells } from '../../../../functions/notebook/model.js';
import { upgradeNotebook } from '../../../../functions/notebook/upgrade.js';
import { V2_NOTEBOOK, V3_NOTEBOOK } from '../../../helpers/old-notebooks.js';

const counter = (): (() => string) => {
  let n = 0;
  return () => `id${n++}`;
};
const copy = <T>(v: T): Record<string, unknown> => structuredClone(v) as Record<string, unknown>;

describe('upgradeNotebook', () => {
  it('nbformat 3: worksheets flattened, every cell and output kind renamed, ids given, origin recorded', () => {
    const nb = upgradeNotebook(copy(V3_NOTEBOOK), 'a.ipynb', counter());
    assert.deepEqual(nb, {
      metadata: { orig_nbformat: 3, orig_nbformat_minor: 0 },
      nbformat: 4,
      nbformat_minor: 5,
      cells: [
        { cell_type: 'markdown', metadata: {}, source: '# Squares and roots', id: 'id0' },
        { cell_type: 'markdown', metadata: {}, source: 'Some *text*\non two lines', id: 'id1' },
        {
          cell_type: 'code',
          metadata: { trusted: true, collapsed: false },
          id: 'id2',
          source: 'import math\nprint("start")\nsquares = [i * i for i in range(5)]',
          execution_count: 1,
          outputs: [{ output_type: 'stream', name: 'stdout', text: 'start\n' }],
        },
        {
          cell_type: 'code',
          metadata: { collapsed: true },
          id: 'id3',
          source: 'squares',
          execution_count: 2,
          outputs: [
            {
              output_type: 'execute_result',
              execution_count: 2,
              metadata: {},
              data: { 'text/plain': '[0, 1, 4, 9, 16]', 'text/html': '<b>list</b>' },
            },
          ],
        },
        {
          cell_type: 'code',
          metadata: { collapsed: false },
          id: 'id4',
          source: 'from IPython.display import display, HTML\ndisplay(HTML("<i>x</i>"))',
          execution_count: null,
          outputs: [
            {
              output_type: 'display_data',
              metadata: { 'image/png': { width: 10 } },
              data: { 'image/png': 'iVBORw0KGgo=' },
            },
            {
              output_type: 'display_data',
              metadata: {},
              data: { 'text/plain': "{'a': [1, 2]}", 'application/json': { a: [1, 2] } },
            },
          ],
        },
        { cell_type: 'markdown', metadata: {}, source: '### A section', id: 'id5' },
        {
          cell_type: 'code',
          metadata: { collapsed: false },
          id: 'id6',
          source: 'print(math.sqrt(squares[-1]))',
          execution_count: 3,
          outputs: [
            {
              output_type: 'error',
              ename: 'NameError',
              evalue: "name 'math' is not defined",
              traceback: ['NameError'],
            },
          ],
        },
        { cell_type: 'raw', metadata: {}, source: 'raw text', id: 'id7' },
        {
          cell_type: 'code',
          metadata: { collapsed: false },
          id: 'id8',
          source: '',
          execution_count: null,
          outputs: [],
        },
      ],
    });
  });

  it('nbformat 2: lines joined with newlines, worksheets in order, origin 2', () => {
    const nb = upgradeNotebook(copy(V2_NOTEBOOK), 'b.ipynb', counter());
    assert.deepEqual(nb.metadata, { orig_nbformat: 2, orig_nbformat_minor: 0 });
    assert.deepEqual([nb.nbformat, nb.nbformat_minor], [4, 5]);
    assert.deepEqual(nb.cells, [
      { cell_type: 'markdown', metadata: {}, source: '# Old\ntwo lines', id: 'id0' },
      {
        cell_type: 'code',
        metadata: { collapsed: false },
        id: 'id1',
        source: 'x = 6\nx * 7',
        execution_count: 1,
        outputs: [{ output_type: 'execute_result', execution_count: 1, metadata: {}, data: { 'text/plain': '42' } }],
      },
      {
        cell_type: 'code',
        metadata: {},
        id: 'id2',
        source: 'print(x)',
        execution_count: null,
        outputs: [{ output_type: 'stream', name: 'stdout', text: '6\n' }],
      },
    ]);
  });

  it('an origin kept in a v3 file is recorded; a heading without level is #', () => {
    const nb = upgradeNotebook(
      {
        nbformat: 3,
        nbformat_minor: 0,
        orig_nbformat: 1,
        orig_nbformat_minor: 7,
        worksheets: [
          {
            cells: [
              { cell_type: 'heading', source: '' },
              { cell_type: 'html', source: '<p>x</p>' },
            ],
          },
        ],
      },
      'c.ipynb',
      counter(),
    );
    assert.deepEqual(nb.metadata, { orig_nbformat: 1, orig_nbformat_minor: 7 });
    assert.deepEqual(nb.cells, [
      { cell_type: 'markdown', metadata: {}, source: '# ', id: 'id0' },
      { cell_type: 'markdown', metadata: {}, source: '<p>x</p>', id: 'id1' },
    ]);
  });

  it('refuses what cannot be read, naming the field', () => {
    const v3 = (cells: unknown[]): unknown => ({ nbformat: 3, nbformat_minor: 0, worksheets: [{ cells }] });
    const cases: [unknown, string][] = [
      [v3([{ cell_type: 'code', input: 'x', outputs: {} }]), 'worksheets[0].cells[0].outputs'],
      [v3([{ cell_type: 'code', input: 'x', outputs: [7] }]), 'worksheets[0].cells[0].outputs[0]'],
      [
        v3([{ cell_type: 'code', outputs: [{ output_type: 'pyout', json: '{' }] }]),
        'worksheets[0].cells[0].outputs[0].json',
      ],
      [{ nbformat: 3, worksheets: [{ cells: ['x'] }] }, 'worksheets[0].cells[0]'],
      [{ nbformat: 3, worksheets: {} }, 'worksheets'],
    ];
    for (const [nb, field] of cases) {
      assert.throws(
        () => upgradeNotebook(nb as Record<string, unknown>, 'd.ipynb'),
        (e: unknown) => {
          assert.ok(e instanceof NbtError && e.code === 'BAD_NOTEBOOK', String(e));
          assert.equal(e.details.field, field);
          assert.match(e.message, /^notebook "d\.ipynb" /);
          return true;
        },
      );
    }
  });
});

describe('parseNotebook reads nbformat 2 and 3', () => {
  it('a v3 notebook parses as 4.5 with random 8-hex ids, and its code cells are planned', () => {
    const nb = parseNotebook(JSON.stringify(V3_NOTEBOOK), 'a.ipynb');
    assert.equal(nb.nbformat, 4);
    assert.equal(nb.nbformat_minor, 5);
    assert.equal(nb.cells.length, 9);
    for (const c of nb.cells) assert.match(String(c.id), /^[0-9a-f]{8}$/);
    assert.deepEqual(
      plannedCells(nb).map((c) => c.index),
      [2, 3, 4, 6],
    );
  });

  it('a v2 notebook parses; its code runs in order', () => {
    const nb = parseNotebook(JSON.stringify(V2_NOTEBOOK), 'b.ipynb');
    assert.deepEqual(
      plannedCells(nb).map((c) => c.source),
      ['x = 6\nx * 7', 'print(x)'],
    );
  });
});
