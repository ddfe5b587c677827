import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderNotebookHtmlBuiltin } from '../../../../functions/report/notebook-html-builtin.js';
import { renderNotebookHtml } from '../../../../functions/report/notebook-html.js';

const nb = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { nbtrigger: { runId: 'r<1>', status: 'failed' } },
  cells: [
    { cell_type: 'markdown', id: 'm', metadata: {}, source: ['# Title <b>bold</b>'] },
    {
      cell_type: 'code',
      id: 'a',
      metadata: {},
      execution_count: 1,
      source: 'print("<hi>")',
      outputs: [
        { output_type: 'stream', name: 'stdout', text: ['<hi>\n'] },
        { output_type: 'stream', name: 'stderr', text: 'warn' },
      ],
    },
    {
      cell_type: 'code',
      id: 'b',
      metadata: {},
      execution_count: 2,
      source: 'x',
      outputs: [
        {
          output_type: 'execute_result',
          execution_count: 2,
          metadata: {},
          data: { 'text/html': '<script>alert(1)</script><b>t</b>', 'text/plain': 'T' },
        },
        { output_type: 'display_data', metadata: {}, data: { 'image/png': 'iVBORw0KGgo=\n' } },
        { output_type: 'display_data', metadata: {}, data: { 'image/svg+xml': '<svg onload="alert(1)"></svg>' } },
      ],
    },
    {
      cell_type: 'code',
      id: 'c',
      metadata: {},
      execution_count: 3,
      source: '1/0',
      outputs: [
        {
          output_type: 'error',
          ename: 'ZeroDivisionError',
          evalue: 'division by zero',
          traceback: ['\u001b[0;31mZeroDivisionError\u001b[0m: division by zero'],
        },
      ],
    },
  ],
};

describe('built-in notebook HTML', () => {
  const html = renderNotebookHtmlBuiltin(nb, 'daily <x>');

  it('shows sources, outputs and errors, escaped', () => {
    assert.match(html, /<title>daily &lt;x&gt;<\/title>/);
    assert.match(html, /# Title &lt;b&gt;bold&lt;\/b&gt;/);
    assert.match(html, /print\(&quot;&lt;hi&gt;&quot;\)/);
    assert.match(html, /<div class="out"><pre>&lt;hi&gt;\n<\/pre><\/div>/);
    assert.match(html, /<div class="out stderr"><pre>warn<\/pre>/);
    assert.match(html, /<div class="out err"><pre>ZeroDivisionError: division by zero<\/pre>/);
    assert.match(html, /In \[3\]:/);
    assert.match(html, /runId: r&lt;1&gt; · status: failed/);
  });

  it('never lets output run scripts', () => {
    assert.doesNotMatch(html, /<script/i);
    assert.match(html, /<iframe sandbox="" referrerpolicy="no-referrer" srcdoc="&lt;script&gt;/);
    assert.match(html, /<img alt="image\/png output" src="data:image\/png;base64,iVBORw0KGgo=">/);
    assert.match(html, /src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+"/);
    assert.doesNotMatch(html, /onload/);
  });

  it('survives junk input', () => {
    for (const junk of [
      null,
      42,
      { cells: 'x' },
      { cells: [null, { cell_type: 'code', outputs: [null, { output_type: 'weird' }] }] },
    ]) {
      assert.match(renderNotebookHtmlBuiltin(junk), /<\/html>/);
    }
  });

  it('without a server renders built-in, with no warning', async () => {
    const r = await renderNotebookHtml(nb, { name: 'dir/daily.ipynb' });
    assert.equal(r.via, 'builtin');
    assert.equal(r.warning, undefined);
    assert.match(r.html, /<title>daily<\/title>/);
  });
});
