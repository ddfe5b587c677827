/**
 * `nbtrigger run --server` end to end: the real command against a Jupyter server that is already
 * running, the token from JUPYTER_TOKEN or --token (never printed), the kernel deleted, and exit
 * codes 2 (wrong token, missing notebook) and 3 (server down, after the start timeout). The
 * private-server runs are in run-command.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../../../cli/local/jupyter-server.js';
import { runCli } from '../../../helpers/cli.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';
import { record } from './run-record.js';

/** Where these tests' runs write their records and executed notebooks. */
const runsRoot = await mkdtemp(join(tmpdir(), 'nbtrigger-cli-runs-'));

describe('nbtrigger run --server (a running server)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await server.writeNotebook('nb/hello.ipynb', ['a = 5', 'b = 10', 'a + b']);
  });
  after(() => server.close());

  test('runs the notebook at its server path, token from JUPYTER_TOKEN; kernel deleted', async () => {
    const r = await runCli(
      ['run', '--output-root', runsRoot, '--json', '--server', server.hostPort, '/nb/hello.ipynb'],
      { env: { JUPYTER_TOKEN: server.token } },
    );
    assert.equal(r.code, 0, r.stderr);
    const rec = record(r.stdout);
    assert.equal(rec.status, 'succeeded');
    assert.deepEqual(rec.lastResult, { 'text/plain': '15' });
    assert.equal(rec.notebook, 'nb/hello.ipynb');
    assert.deepEqual(await server.kernels(), []);
    assert.ok(!r.stdout.includes(server.token) && !r.stderr.includes(server.token), 'token never printed');
  });

  test('--token flag; --sequential gives the same result', async () => {
    const r = await runCli(
      [
        'run',
        '--output-root',
        runsRoot,
        '--json',
        '--sequential',
        '--server',
        server.hostPort,
        '--token',
        server.token,
        'nb/hello.ipynb',
      ],
      { env: { JUPYTER_TOKEN: undefined } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(record(r.stdout).lastResult, { 'text/plain': '15' });
  });

  test('wrong token: exit 2, AUTH_REFUSED, not retryable', async () => {
    const r = await runCli([
      'run',
      '--output-root',
      runsRoot,
      '--json',
      '--server',
      server.hostPort,
      '--token',
      'wrong-token',
      'nb/hello.ipynb',
    ]);
    assert.equal(r.code, 2);
    const rec = record(r.stdout);
    assert.equal(rec.error?.code, 'AUTH_REFUSED');
    assert.equal(rec.error?.retryable, false);
    assert.ok(!r.stdout.includes('wrong-token') && !r.stderr.includes('wrong-token'));
  });

  test('missing notebook on the server: exit 2', async () => {
    const r = await runCli([
      'run',
      '--output-root',
      runsRoot,
      '--json',
      '--server',
      server.hostPort,
      '--token',
      server.token,
      'nb/missing.ipynb',
    ]);
    assert.equal(r.code, 2);
    assert.equal(record(r.stdout).error?.code, 'NOTEBOOK_NOT_FOUND');
  });

  test('server down: exit 3 after the start timeout, not before', async () => {
    const port = await freePort();
    const r = await runCli([
      'run',
      '--output-root',
      runsRoot,
      '--json',
      '--start-timeout',
      '1.5',
      '--server',
      `127.0.0.1:${port}`,
      '--token',
      't',
      'nb.ipynb',
    ]);
    assert.equal(r.code, 3, r.stderr);
    const rec = record(r.stdout);
    assert.equal(rec.error?.code, 'SERVER_UNREACHABLE');
    assert.equal(rec.error?.retryable, true);
    assert.ok(rec.durationMs >= 1400 && rec.durationMs < 10_000, `waited ${rec.durationMs} ms`);
  });
});
