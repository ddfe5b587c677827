/**
 * The kernel notebook-image/server_main.py starts beside the server's imports, on the image's
 * server for real (start-server.sh): the pool adopts it and hands it out as its pooled kernel (the
 * pid started before the server answered is the one a POST gets), moved to the folder and the
 * environment a fresh kernel gets (compared with a kernel of an unpooled copy of the spec), with
 * the server's token in neither its environment nor its process's initial environment, and its
 * connection file gone; a restart starts a new process as for any kernel. A python3 kernelspec
 * other than the one started: the kernel is stopped, not adopted, and the pool starts its own. A
 * config that never loads the pool: it is stopped after its adoption window; one that disables the
 * pool: it is stopped at once. Pool size 0: nothing is started beside the server. Every wait is on
 * a state, bounded by the test's timeout.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { HANG_MS, startImageServer, waitForApi, type Started } from '../../helpers/image-server.js';
import {
  alive,
  evaluate,
  evaluateJson,
  KERNEL_PORTRAIT,
  kernelChildren,
  rest,
  startKernel,
  until,
  writePythonKernelspec,
} from '../../helpers/kernel-exec.js';

interface Image {
  s: Started;
  root: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

/** The image's server over a folder holding `sub/dir`, with kernelspecs `specs` (name → argv tail) in JUPYTER_PATH. */
async function image(env: Record<string, string>, specs: Record<string, string[]> = {}): Promise<Image> {
  const root = await mkdtemp(join(tmpdir(), 'nbtrigger-prelaunch-'));
  await mkdir(join(root, 'sub', 'dir'), { recursive: true });
  for (const [name, tail] of Object.entries(specs)) await writePythonKernelspec(join(root, 'jp'), name, tail);
  const token = randomBytes(24).toString('hex');
  const s = await startImageServer({
    JUPYTER_TOKEN: token,
    NBTRIGGER_ROOT_DIR: root,
    JUPYTER_PATH: join(root, 'jp'),
    ...env,
  });
  return {
    s,
    root,
    token,
    port: s.port,
    async close() {
      await s.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

test('the kernel started beside the server is adopted: handed out as a fresh kernel, no token, no connection file', {
  timeout: 2 * HANG_MS,
}, async () => {
  const im = await image({}, { nopool: [] });
  try {
    // It starts before the server answers: a child of the server process from its first moments.
    const early = await until(() => kernelChildren(im.s.pid)[0]);
    const connectionFile = cmdline(early).at(-2)!;
    assert.match(connectionFile, /nbtrigger-kernel-connection-/);
    await waitForApi(im.s);
    assert.equal(alive(early), true);
    const fresh = await startKernel(im, 'nopool', 'sub/dir');
    const claimed = await startKernel(im, 'python3', 'sub/dir');
    const pid = `__import__('os').getpid()`;
    assert.notEqual(Number(await evaluate(im, fresh, pid)), early);
    assert.equal(Number(await evaluate(im, claimed, pid)), early, 'the started kernel is handed out');
    assert.match(im.s.output(), new RegExp(`adopted the python3 kernel started beside the server \\(pid ${early}\\)`));
    const [want, got] = [
      await evaluateJson(im, fresh, KERNEL_PORTRAIT),
      await evaluateJson(im, claimed, KERNEL_PORTRAIT),
    ] as string[][];
    assert.equal(got![0], join(im.root, 'sub', 'dir'));
    assert.deepEqual(got, want, 'nothing tells it from a kernel started for the request');
    const environ = `open('/proc/self/environ', 'rb').read()`;
    assert.equal(
      await evaluate(im, claimed, `${environ}.find(b'${im.token}')`),
      '-1',
      'no token in its initial environment',
    );
    assert.equal(await evaluate(im, claimed, `${environ}.find(b'JUPYTER_TOKEN')`), '-1');
    assert.equal(existsSync(connectionFile), false, 'its connection file (the key) is gone once it answered');
    // A restart, after the adoption, starts a new process as jupyter_client does, on the kernel's ports.
    await rest(im, 'POST', `/api/kernels/${claimed}/restart`);
    await until(() => (alive(early) ? undefined : true));
    const restarted = Number(await evaluate(im, claimed, pid));
    assert.notEqual(restarted, early);
    assert.equal(await evaluate(im, claimed, '6 * 7'), '42');
    await rest(im, 'DELETE', `/api/kernels/${fresh}`, undefined, 204);
    await rest(im, 'DELETE', `/api/kernels/${claimed}`, undefined, 204);
    assert.equal(alive(restarted), false, 'DELETE ends it like any kernel');
  } finally {
    await im.close();
  }
});

test('a python3 kernelspec unlike the kernel started: that kernel is stopped, the pool starts its own', {
  timeout: 2 * HANG_MS,
}, async () => {
  const im = await image({}, { python3: ['--IPKernelApp.log_level=30'] });
  try {
    const early = await until(() => kernelChildren(im.s.pid)[0]);
    await waitForApi(im.s);
    await until(() => (alive(early) ? undefined : true));
    assert.match(im.s.output(), /not adopted: its command differs from the kernelspec's/);
    const id = await startKernel(im, 'python3');
    const pid = Number(await evaluate(im, id, `__import__('os').getpid()`));
    assert.notEqual(pid, early);
    assert.ok(cmdline(pid).includes('--IPKernelApp.log_level=30'), 'the kernelspec the server found');
    await rest(im, 'DELETE', `/api/kernels/${id}`, undefined, 204);
  } finally {
    await im.close();
  }
});

test('pool size 0: no kernel is started beside the server', { timeout: 2 * HANG_MS }, async () => {
  const im = await image({ NBTRIGGER_KERNEL_POOL: 'python3:0' });
  try {
    await waitForApi(im.s);
    assert.deepEqual(kernelChildren(im.s.pid), []);
    const id = await startKernel(im, 'python3');
    assert.equal(await evaluate(im, id, '6 * 7'), '42');
    await rest(im, 'DELETE', `/api/kernels/${id}`, undefined, 204);
  } finally {
    await im.close();
  }
});

test('a server config that never loads the pool: the kernel started beside it is stopped, unadopted', {
  timeout: 2 * HANG_MS,
}, async () => {
  const config = join(await mkdtemp(join(tmpdir(), 'nbtrigger-prelaunch-config-')), 'bare_config.py');
  await writeFile(config, '# no kernel pool\n');
  const im = await image({ NBTRIGGER_JUPYTER_CONFIG: config, NBTRIGGER_KERNEL_PRELAUNCH_ADOPT_SEC: '1' });
  try {
    const early = await until(() => kernelChildren(im.s.pid)[0]);
    await waitForApi(im.s);
    await until(() => (alive(early) ? undefined : true));
    assert.doesNotMatch(im.s.output(), /adopted/);
  } finally {
    await im.close();
    await rm(dirname(config), { recursive: true, force: true });
  }
});

test('the pool disabled by the config (its own kernel manager): the kernel started beside the server is stopped', {
  timeout: 2 * HANG_MS,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbtrigger-prelaunch-config-'));
  const imageConfig = join(PROJECT_ROOT, 'notebook-image', 'jupyter_server_config.py');
  // The image's config after a kernel manager class of the user's own, which turns the pool off.
  await writeFile(
    join(dir, 'own_manager_config.py'),
    'c.ServerApp.kernel_manager_class = "jupyter_server.services.kernels.kernelmanager.AsyncMappingKernelManager"\n' +
      `_image = ${JSON.stringify(imageConfig)}\n` +
      'exec(compile(open(_image).read(), _image, "exec"), dict(globals(), __file__=_image))\n',
  );
  const im = await image({ NBTRIGGER_JUPYTER_CONFIG: join(dir, 'own_manager_config.py') });
  try {
    const early = await until(() => kernelChildren(im.s.pid)[0]);
    await waitForApi(im.s);
    await until(() => (alive(early) ? undefined : true));
    assert.match(im.s.output(), /kernel pool disabled: ServerApp\.kernel_manager_class is configured/);
    assert.match(im.s.output(), /python3 kernel started beside the server is stopped: the kernel pool is disabled/);
  } finally {
    await im.close();
    await rm(dir, { recursive: true, force: true });
  }
});
