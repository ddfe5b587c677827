/**
 * `renderNotebookHtml` against a real Jupyter server: the server's nbconvert (POST /nbconvert/html)
 * renders an executed notebook; a server without it (answers 404/500) falls back to the built-in page
 * with a warning that holds no token.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { JupyterRest } from '../../../../functions/jupyter/rest.js';
import { renderNotebookHtml } from '../../../../functions/report/notebook-html.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';

const executed = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
  cells: [
    { cell_type: 'markdown', id: 'm1', metadata: {}, source: '# Daily *report*' },
    {
      cell_type: 'code',
      id: 'c1',
      metadata: {},
      execution_count: 1,
      source: 'print("hello <world>")',
      outputs: [{ output_type: 'stream', name: 'stdout', text: 'hello <world>\n' }],
    },
    {
      cell_type: 'code',
      id: 'c2',
      metadata: {},
      execution_count: 2,
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

describe('notebook HTML', () => {
  let server: TestServer;
  let rest: JupyterRest;
  let fake: Server;
  let fakeRest: JupyterRest;
  let fakeStatus = 404;

  before(async () => {
    server = await startTestServer();
    rest = new JupyterRest({ server: server.address, token: server.token });
    fake = createServer((req, res) => {
      req.resume().on('end', () =>
        res.writeHead(fakeStatus, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            message: fakeStatus === 500 ? 'Could not import nbconvert: No module named nbconvert' : 'Not Found',
          }),
        ),
      );
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
    fakeRest = new JupyterRest({
      server: { host: '127.0.0.1', port: (fake.address() as AddressInfo).port, secure: false },
      token: 's3cr3t-tok',
    });
  });
  after(async () => {
    await rest?.close();
    await fakeRest?.close();
    await server?.close();
    await new Promise<void>((r) => fake.close(() => r()));
  });

  it("uses the server's nbconvert when it has one", async () => {
    const r = await renderNotebookHtml(executed, { server: rest, name: 'reports/daily.ipynb' });
    assert.equal(r.via, 'nbconvert', r.warning);
    assert.equal(r.warning, undefined);
    assert.match(r.html, /<title>daily<\/title>/);
    assert.match(r.html, /<h1 id="Daily-report">Daily <em>report<\/em>/); // Markdown rendered by nbconvert
    assert.match(r.html, /hello &lt;world&gt;/);
    assert.match(r.html, /ZeroDivisionError/);
  });

  it('renders notebooks whose sources and outputs are lists of lines (as nbformat writes them)', async () => {
    const lines = {
      ...executed,
      cells: [
        { cell_type: 'markdown', id: 'm1', metadata: {}, source: ['# Lines\n', 'of *markdown*'] },
        {
          cell_type: 'code',
          id: 'c1',
          metadata: {},
          execution_count: 1,
          source: ['x = 1\n', 'print(x)'],
          outputs: [
            { output_type: 'stream', name: 'stdout', text: ['one\n', 'two\n'] },
            {
              output_type: 'execute_result',
              execution_count: 1,
              metadata: {},
              data: { 'text/plain': ['a\n', 'b'], 'application/json': { k: ['v'] } },
            },
          ],
        },
      ],
    };
    const r = await renderNotebookHtml(lines, { server: rest, name: 'lines.ipynb' });
    assert.equal(r.via, 'nbconvert', r.warning);
    assert.match(r.html, /one\s*two/);
  });

  for (const status of [404, 500]) {
    it(`falls back to the built-in page when the server answers ${status}`, async () => {
      fakeStatus = status;
      const r = await renderNotebookHtml(executed, { server: fakeRest, name: 'daily.ipynb' });
      assert.equal(r.via, 'builtin');
      assert.match(r.warning ?? '', new RegExp(`nbconvert was not available \\(HTTP ${status}`));
      assert.doesNotMatch(r.warning ?? '', /s3cr3t-tok/);
      assert.match(r.html, /hello &lt;world&gt;/);
    });
  }

  it('falls back when the server cannot be reached', async () => {
    const dead = new JupyterRest({ server: { host: '127.0.0.1', port: 1, secure: false }, token: '' });
    const r = await renderNotebookHtml(executed, { server: dead, timeoutMs: 2000 });
    await dead.close();
    assert.equal(r.via, 'builtin');
    assert.match(r.warning ?? '', /ECONNREFUSED|connect/i);
  });
});
