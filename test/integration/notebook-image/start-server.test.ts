/**
 * The image's start command for real (not Docker): notebook-image/start-server.sh with its
 * jupyter_server_config.py, run against this machine's Jupyter Server with PORT and
 * JUPYTER_TOKEN set and JUPYTER_IP on loopback. `/api` answers, the token is required, the
 * repository's notebooks are served at their repo paths, the token is never printed, and the
 * server refuses to start without a token. And a notebook run by nbtrigger's runner on that
 * server as the image configures it: the pooled kernel (the config's default pool) runs it with the
 * image's kernel settings (ipython_kernel_config.py, which the image puts in /etc/ipython, one of
 * the folders IPython reads config from), and the kernel is gone after the run.
 * Spec: docs/deploy.md (Image and build); notebook-image/README.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPython } from '../../../cli/local/jupyter-server.js';
import { parseMessage } from '../../../functions/request/grammar.js';
import { runNotebook } from '../../../functions/run/runner.js';
import { get, HANG_MS, kernelsStartedBy, startImageServer as start, waitForApi } from '../../helpers/image-server.js';
import { notebookJson } from '../../helpers/jupyter.js';
import { alive, kernelChildren, until } from '../../helpers/kernel-exec.js';

test('start-server.sh serves /api on $PORT, requires the token and serves notebooks at their repo paths', {
  timeout: 2 * HANG_MS,
}, async () => {
  const token = randomBytes(24).toString('hex');
  const s = await start({ JUPYTER_TOKEN: token });
  try {
    await waitForApi(s);
    const api = await get(s.port, '/api');
    assert.match(JSON.parse(api.body).version, /^\d+\./);
    assert.equal((await get(s.port, '/api/kernels')).status, 403, 'no token: refused');
    assert.equal(
      (await get(s.port, '/api/kernels', { authorization: `token ${'x'.repeat(48)}` })).status,
      403,
      'wrong token: refused',
    );
    assert.equal((await get(s.port, '/api/kernels', { authorization: `token ${token}` })).status, 200);
    const nb = await get(s.port, '/api/contents/examples/hello.ipynb?content=0', { authorization: `token ${token}` });
    assert.equal(nb.status, 200, nb.body);
    assert.equal(JSON.parse(nb.body).path, 'examples/hello.ipynb');
    assert.equal(
      (await get(s.port, '/api/terminals', { authorization: `token ${token}` })).status,
      404,
      'terminals are off',
    );
  } finally {
    assert.notEqual(await s.stop(), undefined);
  }
  assert.ok(!s.output().includes(token), 'the token must never be printed');
  assert.match(s.output(), /\?token=\.\.\./, 'the startup URL masks the token');
});

test('start-server.sh refuses to start without a token, or with a short one', { timeout: HANG_MS }, async () => {
  const none = await start({});
  assert.equal(await none.exited, 64);
  assert.match(none.output(), /JUPYTER_TOKEN is not set/);
  await none.stop();
  const short = await start({ JUPYTER_TOKEN: 'abc' });
  assert.notEqual(await short.exited, 0);
  assert.match(short.output(), /at least 16 characters/);
  assert.deepEqual(kernelsStartedBy(short.pid), [], 'the kernel started beside the server is stopped with it');
  await short.stop();
});

test("a run on the image's server gets its pooled kernel, with the image's kernel settings; no kernel is left", {
  timeout: 2 * HANG_MS,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'nbtrigger-image-run-'));
  const token = randomBytes(24).toString('hex');
  const s = await start({ JUPYTER_TOKEN: token, NBTRIGGER_ROOT_DIR: root }, { ipythonConfig: true });
  try {
    await writeFile(
      join(root, 'image.ipynb'),
      notebookJson([
        'import os\nhist = get_ipython().history_manager.hist_file\n(os.getpid(), str(hist), os.getcwd())',
      ]),
    );
    await waitForApi(s);
    // The config's default pool (python3:1): a kernel waits, a child of the server no listing shows.
    const pooled = await until(() => kernelChildren(s.pid)[0]);
    const out = await runNotebook({
      request: parseMessage(`127.0.0.1:${s.port} /image.ipynb`),
      token,
      limits: { startTimeoutMs: 60_000 },
    });
    assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
    assert.deepEqual(
      out.record.lastResult,
      { 'text/plain': `(${pooled}, ':memory:', '${root}')` },
      "the pooled kernel ran it, in the notebook's folder, with the image's kernel settings (history in memory)",
    );
    assert.deepEqual(
      JSON.parse((await get(s.port, '/api/kernels', { authorization: `token ${token}` })).body),
      [],
      "the run's kernel is deleted",
    );
    await until(() => (alive(pooled) ? undefined : true));
  } finally {
    await s.stop();
    await rm(root, { recursive: true, force: true });
  }
  assert.ok(!s.output().includes(token), 'the token must never be printed');
});

test('IPython reads /etc/ipython, where the image puts its kernel settings', { timeout: HANG_MS }, () => {
  const r = spawnSync(
    findPython(),
    ['-c', 'import IPython.core.application as a, json; print(json.dumps(a.SYSTEM_CONFIG_DIRS))'],
    { encoding: 'utf8', timeout: HANG_MS },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.ok((JSON.parse(r.stdout) as string[]).includes('/etc/ipython'), r.stdout);
});
