/** Which `nbtrigger run` command lines get a kernel before the CLI loads (bin/early-kernel.js), and with what. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { NODE22 } from '../../../bench/other-node.js';
import { PROJECT_ROOT } from '../../../cli/project-root.js';

interface EarlyArgs {
  host: string;
  port: number;
  origin: string;
  token: string;
  name?: string;
  path: string;
}
const { earlyKernelArgs } = (await import(pathToFileURL(join(PROJECT_ROOT, 'bin', 'early-kernel.js')).href)) as {
  earlyKernelArgs(argv: string[], env: Record<string, string | undefined>): EarlyArgs | undefined;
};
const ENV = { JUPYTER_TOKEN: 'tok' };

test('a loopback server written as an address, a token and a server path: a kernel is asked for', () => {
  assert.deepEqual(earlyKernelArgs(['--json', '--server', '127.0.0.1:8888', '/a/b/nb.ipynb'], ENV), {
    host: '127.0.0.1',
    port: 8888,
    origin: 'http://127.0.0.1:8888',
    token: 'tok',
    name: undefined,
    path: 'a/b',
  });
  const six = earlyKernelArgs(['--server=[::1]:9', '--kernel', 'ir', '--token', 't2', '/nb.ipynb'], {});
  assert.deepEqual(six, { host: '::1', port: 9, origin: 'http://[::1]:9', token: 't2', name: 'ir', path: '' });
  const values = ['-p', 'x', '/not-the-notebook.ipynb', '--output', '/o.ipynb', '--server', '127.0.0.1:1', '/n.ipynb'];
  assert.equal(earlyKernelArgs(values, ENV)?.path, '', 'option values are not taken for the notebook');
});

test('anything else: no early kernel', () => {
  const none = (argv: string[], env: Record<string, string | undefined> = ENV): void =>
    assert.equal(earlyKernelArgs(argv, env), undefined, argv.join(' '));
  none(['--server', 'localhost:8888', '/nb.ipynb']);
  none(['--server', '127.0.0.2:8888', '/nb.ipynb']);
  none(['--server', 'example.com:8888', '/nb.ipynb']);
  none(['--server', '127.0.0.1', '/nb.ipynb']);
  none(['--server', '127.0.0.1:0', '/nb.ipynb']);
  none(['--server', '127.0.0.1:70000', '/nb.ipynb']);
  none(['--server', '127.0.0.1:8888', '--use-https', '/nb.ipynb']);
  none(['--server', '127.0.0.1:8888', '--help', '/nb.ipynb']);
  none(['--server', '127.0.0.1:8888', '/nb.ipynb'], {});
  none(['--server', '127.0.0.1:8888', './nb.ipynb']);
  none(['--server', '127.0.0.1:8888', 'gs://b/nb.ipynb']);
  none(['--server', '127.0.0.1:8888', '/a/../nb.ipynb']);
  none(['--server', '127.0.0.1:8888', '/.hidden/nb.ipynb']);
  none(['--server', '127.0.0.1:8888', '/a%2fb.ipynb']);
  none(['--server', '127.0.0.1:8888', '/nb.py']);
  none(['--server', '127.0.0.1:8888', '/a.ipynb', '/b.ipynb']);
  none(['/nb.ipynb']);
});

/**
 * Whether importing `file` in a fresh `node` loads Node's own undici (through node:http's lazy
 * WebSocket getters, which an ESM import of node:http reads on Node 22), and whether that Node has
 * those getters at all.
 */
function undiciLoadedBy(node: string, file: string): { getters: boolean; loaded: boolean } {
  const probe = [
    `await import(${JSON.stringify(pathToFileURL(file).href)});`,
    "const { createRequire } = await import('node:module');",
    "const http = createRequire(import.meta.url)('node:http');",
    "const getters = typeof Object.getOwnPropertyDescriptor(http, 'WebSocket')?.get === 'function';",
    "const loaded = process.moduleLoadList.some((m) => m.includes('internal/deps/undici'));",
    'console.log(JSON.stringify({ getters, loaded }));',
  ].join('\n');
  const out = execFileSync(node, ['--input-type=module', '-e', probe], { encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out) as { getters: boolean; loaded: boolean };
}

test('it loads no more than the POST needs: not the undici Node 22 loads for an ESM import of node:http', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nbtrigger-early-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const esmHttp = join(dir, 'esm-http.mjs');
  await writeFile(esmHttp, "import { request } from 'node:http';\nexport { request };\n");
  const nodes = [process.execPath, ...(existsSync(NODE22) ? [NODE22] : [])];
  for (const node of new Set(nodes)) {
    const early = undiciLoadedBy(node, join(PROJECT_ROOT, 'bin', 'early-kernel.js'));
    assert.equal(early.loaded, false, `${node}: bin/early-kernel.js loads Node's undici`);
    // Where node:http has the getters, the probe sees an ESM import load undici: the check above bites.
    if (early.getters) assert.equal(undiciLoadedBy(node, esmHttp).loaded, true, `${node}: the probe sees nothing`);
  }
});
