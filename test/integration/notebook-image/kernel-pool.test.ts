/**
 * The pool of pre-started kernels (notebook-image/jupyter_kernel_pool.py) in a real local Jupyter
 * server (Debian's jupyter_server 1.23, jupyter_client 7): a POST for a pooled kernelspec gets the
 * pooled kernel (its pid is the one that was waiting), moved to the requested folder and to the
 * environment a fresh kernel gets (compared with a kernel of an unpooled spec started the same
 * way), a replacement starts in the background, no run sees the previous run's globals, modules,
 * folder or environment, a pooled kernel killed while waiting is never handed out, size 0 means no
 * pool, and stopping the server leaves no kernel process behind. Every wait is on a state (a
 * process appearing or gone), bounded by the test runner's timeout; nothing is timed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalJupyter, type LocalJupyter } from '../../../cli/local/jupyter-server.js';
import {
  alive,
  evaluate,
  evaluateJson,
  KERNEL_PORTRAIT as PORTRAIT,
  kernelChildren,
  rest,
  startKernel,
  until,
  writePythonKernelspec,
  type RestServer,
} from '../../helpers/kernel-exec.js';

interface PoolServer extends RestServer {
  jupyter: LocalJupyter;
  root: string;
  pid: number;
  close(): Promise<void>;
}

async function startPoolServer(pool: string): Promise<PoolServer> {
  const root = await mkdtemp(join(tmpdir(), 'nbtrigger-pool-test-'));
  await mkdir(join(root, 'sub', 'dir'), { recursive: true });
  // A second kernelspec, identical to python3 but not pooled: what a fresh kernel looks like.
  const specs = join(root, 'jupyter-path');
  await writePythonKernelspec(specs, 'nopool');
  const jupyter = await startLocalJupyter({ rootDir: root, env: { NBTRIGGER_KERNEL_POOL: pool, JUPYTER_PATH: specs } });
  return {
    jupyter,
    root,
    port: jupyter.address.port,
    token: jupyter.token,
    pid: jupyter.child.pid!,
    async close() {
      await jupyter.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function kernelPid(s: RestServer, id: string): Promise<number> {
  return Number(await evaluate(s, id, `__import__('os').getpid()`));
}

describe('kernel pool of size 1', () => {
  let s: PoolServer;
  before(async () => {
    s = await startPoolServer('python3:1');
  });
  after(async () => {
    await s?.close();
  });

  test(
    'a POST gets the waiting kernel, moved to the folder and ' +
      'environment a fresh kernel gets; a replacement starts',
    async () => {
      const pooled = await until(() => kernelChildren(s.pid)[0]);
      const fresh = await startKernel(s, 'nopool', 'sub/dir');
      const claimed = await startKernel(s, 'python3', 'sub/dir');
      assert.equal(await kernelPid(s, claimed), pooled, 'the pooled kernel is handed out');
      assert.notEqual(await kernelPid(s, fresh), pooled);
      const [want, got] = [
        await evaluateJson(s, fresh, PORTRAIT),
        await evaluateJson(s, claimed, PORTRAIT),
      ] as string[][];
      assert.equal(got![0], join(s.root, 'sub', 'dir'));
      assert.deepEqual(got, want);
      const ids = ((await rest(s, 'GET', '/api/kernels')) as Array<{ id: string }>).map((k) => k.id).sort();
      assert.deepEqual(ids, [fresh, claimed].sort(), 'a pooled kernel is not listed');
      // The replacement: a third kernel process beside the fresh one and the claimed one.
      await until(() => (kernelChildren(s.pid).length === 3 ? true : undefined));
      await rest(s, 'DELETE', `/api/kernels/${fresh}`, undefined, 204);
      await rest(s, 'DELETE', `/api/kernels/${claimed}`, undefined, 204);
      assert.equal(alive(pooled), false, 'DELETE of a claimed kernel ends its process');
    },
  );

  test('a session (POST /api/sessions) gets the environment the server gives a session kernel', async () => {
    const session = async (name: string): Promise<{ id: string; kernel: { id: string } }> =>
      (await rest(
        s,
        'POST',
        '/api/sessions',
        { path: `sub/dir/${name}.ipynb`, type: 'notebook', name: '', kernel: { name } },
        201,
      )) as { id: string; kernel: { id: string } };
    const [fresh, claimed] = [await session('nopool'), await session('python3')];
    const env = async (id: string): Promise<Record<string, string>> =>
      (await evaluateJson(s, id, `dict(__import__('os').environ)`)) as Record<string, string>;
    const [want, got] = [await env(fresh.kernel.id), await env(claimed.kernel.id)];
    assert.equal(got.JPY_SESSION_NAME, 'sub/dir/python3.ipynb');
    assert.deepEqual({ ...got, JPY_SESSION_NAME: '' }, { ...want, JPY_SESSION_NAME: '' });
    for (const x of [fresh, claimed]) await rest(s, 'DELETE', `/api/sessions/${x.id}`, undefined, 204);
  });

  test('two runs in a row: different processes, nothing of the first visible in the second', async () => {
    const first = await startKernel(s, 'python3', 'sub/dir');
    const pid1 = await kernelPid(s, first);
    await evaluate(s, first, `import tabnanny, os; MARK = 1; os.environ['NBT_MARK'] = '1'; os.chdir('/'); MARK`);
    await rest(s, 'DELETE', `/api/kernels/${first}`, undefined, 204);
    const second = await startKernel(s, 'python3', 'sub/dir');
    assert.notEqual(await kernelPid(s, second), pid1);
    const seen = await evaluate(
      s,
      second,
      `import os, sys; ('MARK' in globals(), 'tabnanny' in sys.modules, 'NBT_MARK' in os.environ, os.getcwd())`,
    );
    assert.equal(seen, `(False, False, False, '${join(s.root, 'sub', 'dir')}')`);
    await rest(s, 'DELETE', `/api/kernels/${second}`, undefined, 204);
  });

  test('a kernelspec without a pool starts a kernel of its own and leaves the pooled one waiting', async () => {
    const waiting = await until(() => (kernelChildren(s.pid).length === 1 ? kernelChildren(s.pid)[0] : undefined));
    const id = await startKernel(s, 'nopool');
    assert.notEqual(await kernelPid(s, id), waiting);
    assert.equal(alive(waiting), true);
    await rest(s, 'DELETE', `/api/kernels/${id}`, undefined, 204);
  });

  test('a pooled kernel killed while waiting is never handed out', async () => {
    const waiting = await until(() => (kernelChildren(s.pid).length === 1 ? kernelChildren(s.pid)[0] : undefined));
    process.kill(waiting, 'SIGKILL');
    await until(() => (alive(waiting) ? undefined : true));
    const id = await startKernel(s, 'python3');
    const pid = await kernelPid(s, id);
    assert.notEqual(pid, waiting);
    assert.equal(await evaluate(s, id, '6 * 7'), '42');
    await rest(s, 'DELETE', `/api/kernels/${id}`, undefined, 204);
  });
});

test('pool size 0: no kernel waits; a POST starts one', async () => {
  const s = await startPoolServer('python3:0');
  try {
    assert.deepEqual(kernelChildren(s.pid), []);
    const id = await startKernel(s, 'python3');
    const pid = await kernelPid(s, id);
    assert.deepEqual(kernelChildren(s.pid), [pid]);
    await rest(s, 'DELETE', `/api/kernels/${id}`, undefined, 204);
    // With a pool, its replacement would be starting by now (it starts as the kernel is claimed).
    assert.deepEqual(kernelChildren(s.pid), []);
  } finally {
    await s.close();
  }
});

test('stopping a server with no kernel in use ends its pooled kernels before it exits', async () => {
  const s = await startPoolServer('python3:2');
  try {
    // A run comes and goes: the server has no kernel in use, two waiting.
    const id = await startKernel(s, 'python3');
    const claimed = await kernelPid(s, id);
    await rest(s, 'DELETE', `/api/kernels/${id}`, undefined, 204);
    const kernels = await until(() => (kernelChildren(s.pid).length === 2 ? kernelChildren(s.pid) : undefined));
    assert.ok(!kernels.includes(claimed));
    const exited = new Promise((res) => s.jupyter.child.once('exit', res));
    process.kill(s.pid, 'SIGTERM'); // the server alone, not its process group
    await exited;
    // Left behind, a kernel would notice its parent gone only later (its parent poller): check at once.
    assert.deepEqual(kernels.filter(alive), []);
  } finally {
    await s.close();
  }
});
