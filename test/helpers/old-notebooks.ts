/**
 * Test fixtures: nbformat 2 and 3 notebooks written by hand after the v2 and v3 schemas, as
 * IPython 0.12–2.x saved them (worksheets, `input`, `prompt_number`, `language`, `collapsed`,
 * heading cells, mime aliases in outputs, lines stored as lists). Their code cells run on any
 * Python 3 kernel.
 * @module
 */

/** An IPython 2.x (nbformat 3.0) notebook: every cell and output kind v3 has. */
export const V3_NOTEBOOK = {
  metadata: { name: 'analysis', signature: 'sha256:0123abcd' },
  nbformat: 3,
  nbformat_minor: 0,
  worksheets: [
    {
      cells: [
        { cell_type: 'heading', level: 1, metadata: {}, source: 'Squares and\nroots' },
        { cell_type: 'markdown', metadata: {}, source: ['Some *text*\n', 'on two lines'] },
        {
          cell_type: 'code',
          collapsed: false,
          input: ['import math\n', 'print("start")\n', 'squares = [i * i for i in range(5)]'],
          language: 'python',
          metadata: { trusted: true },
          prompt_number: 1,
          outputs: [{ output_type: 'stream', stream: 'stdout', text: ['start\n'] }],
        },
        {
          cell_type: 'code',
          collapsed: true,
          input: 'squares',
          language: 'python',
          metadata: {},
          prompt_number: 2,
          outputs: [
            { output_type: 'pyout', prompt_number: 2, text: ['[0, 1, 4, 9, 16]'], html: ['<b>list</b>'], metadata: {} },
          ],
        },
        {
          cell_type: 'code',
          collapsed: false,
          input: 'from IPython.display import display, HTML\ndisplay(HTML("<i>x</i>"))',
          language: 'python',
          metadata: {},
          outputs: [
            { output_type: 'display_data', png: 'iVBORw0KGgo=', metadata: { png: { width: 10 } } },
            { output_type: 'display_data', json: '{"a": [1, 2]}', text: ["{'a': [1, 2]}"], metadata: {} },
          ],
        },
        { cell_type: 'heading', level: 3, metadata: {}, source: 'A section' },
        {
          cell_type: 'code',
          collapsed: false,
          input: ['print(math.sqrt(squares[-1]))'],
          language: 'python',
          metadata: {},
          prompt_number: 3,
          outputs: [
            {
              output_type: 'pyerr',
              ename: 'NameError',
              evalue: "name 'math' is not defined",
              traceback: ['NameError'],
            },
          ],
        },
        { cell_type: 'raw', metadata: {}, source: 'raw text' },
        { cell_type: 'code', collapsed: false, input: [], language: 'python', metadata: {}, outputs: [] },
      ],
      metadata: {},
    },
  ],
};

/** An IPython 0.12 (nbformat 2) notebook: lines joined with `\n`, two worksheets, no cell metadata. */
export const V2_NOTEBOOK = {
  metadata: { name: 'old' },
  nbformat: 2,
  worksheets: [
    {
      cells: [
        { cell_type: 'markdown', source: ['# Old', 'two lines'] },
        {
          cell_type: 'code',
          collapsed: false,
          input: ['x = 6', 'x * 7'],
          language: 'python',
          prompt_number: 1,
          outputs: [{ output_type: 'pyout', prompt_number: 1, text: '42' }],
        },
      ],
    },
    {
      cells: [
        {
          cell_type: 'code',
          input: 'print(x)',
          language: 'python',
          outputs: [{ output_type: 'stream', stream: 'stdout', text: '6\n' }],
        },
      ],
    },
  ],
};
