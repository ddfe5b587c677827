/**
 * The early kernel against a real server with two Python kernelspecs: a notebook that wants the
 * server's default runs in the kernel started beside the notebook read; one that wants the other
 * kernelspec runs in that one, and the early kernel is deleted. No kernel is ever left behind.
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { runNotebook } from '../../../../functions/run/runner.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';

let server: TestServer;
let specs: string;
const saved = process.env.JUPYTER_PATH;

before(async () => {
  // A second kernelspec, told apart by an environment variable its kernels get.
  specs = await mkdtemp(join(tmpdir(), 'nbtrigger-kernelspecs-'));
  await mkdir(join(specs, 'kernels', 'py-alt'), { recursive: true });
  await writeFile(
    join(specs, 'kernels', 'py-alt', 'kernel.json'),
    JSON.stringify({
      argv: ['/usr/bin/python3', '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      display_name: 'Python (alt)',
      language: 'python',
      env: { NBT_KERNELSPEC: 'py-alt' },
    }),
  );
  process.env.JUPYTER_PATH = specs;
  server = await startTestServer();
  if (saved === undefined) delete process.env.JUPYTER_PATH;
  else process.env.JUPYTER_PATH = saved;
});
after(async () => {
  await server?.close();
  await rm(specs, { recursive: true, force: true });
});

const probe = 'import os\nos.environ.get("NBT_KERNELSPEC", "default")';

for (const [want, expected] of [
  ['python3', "'default'"],
  ['py-alt', "'py-alt'"],
] as const) {
  test(`a notebook asking for ${want} runs in ${want}; no kernel is left`, { timeout: 60_000 }, async () => {
    const nb = await server.writeNotebook(`sub/${want}.ipynb`, [probe], {
      kernelspec: { name: want, display_name: want, language: 'python' },
    });
    const out = await runNotebook({ request: parseMessage(`${server.hostPort} /${nb}`), token: server.token });
    assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
    assert.equal(out.record.kernelName, want);
    assert.deepEqual(out.record.lastResult, { 'text/plain': expected });
    assert.deepEqual(await server.kernels(), []);
  });
}

test('the early kernel of a run that fails before starting one is deleted', { timeout: 60_000 }, async () => {
  const out = await runNotebook({
    request: parseMessage(`${server.hostPort} /sub/missing.ipynb`),
    token: server.token,
  });
  assert.equal(out.record.error?.code, 'NOTEBOOK_NOT_FOUND');
  assert.deepEqual(await server.kernels(), []);
});
