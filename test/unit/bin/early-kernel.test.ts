/** Which `nbtrigger run` command lines get a kernel before the CLI loads (bin/early-kernel.js), and with what. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
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
