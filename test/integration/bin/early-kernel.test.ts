/**
 * The kernel `nbtrigger run --server` asks for before the CLI loads (bin/early-kernel.js), against a
 * real Jupyter server behind a front that records each request: the run takes that kernel (one POST,
 * the bin's; the run deletes it), a run that ends early deletes it (a usage error, a notebook on a
 * kernelspec the server lacks, Ctrl-C while the CLI loads), a server written otherwise gets none,
 * and a server that is down costs nothing but the run's own error. No kernel is left in any case.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { runCli, startCli } from '../../helpers/cli.js';
import { startHttpFront, type HttpFront } from '../../helpers/http-front.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';

const EARLY = 'nbtrigger-early-kernel';

interface Seen {
  method: string;
  url: string;
  early: boolean;
}

async function setup(t: TestContext): Promise<{ server: TestServer; front: HttpFront; seen: Seen[] }> {
  const server = await startTestServer();
  const seen: Seen[] = [];
  const front = await startHttpFront(
    { host: '127.0.0.1', port: server.address.port },
    {
      route: (req) => {
        seen.push({ method: req.method!, url: req.url!, early: req.headers['user-agent'] === EARLY });
        return false;
      },
    },
  );
  t.after(async () => {
    await front.close();
    await server.close();
  });
  await server.writeNotebook('sub/nb.ipynb', ['21 * 2']);
  return { server, front, seen };
}

const kernelCalls = (seen: Seen[]): string[] =>
  seen
    .filter((s) => /^\/api\/kernels(\/[^/?]+)?$/.test(s.url.split('?')[0]!) && s.method !== 'GET')
    .map((s) => `${s.method}${s.early ? ' early' : ''}`);

test('the run takes the kernel the bin asked for: one POST, made before the CLI loaded', async (t) => {
  const { server, front, seen } = await setup(t);
  const r = await runCli(['run', '--json', '--server', front.hostPort, '/sub/nb.ipynb'], {
    env: { JUPYTER_TOKEN: server.token },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).lastResult['text/plain'], '42');
  assert.deepEqual(kernelCalls(seen), ['POST early', 'DELETE'], 'the bin asks, the run deletes what it ran on');
  assert.equal(seen[0]!.method, 'POST', 'the first request of the run');
  assert.deepEqual(await server.kernels(), []);
});

test('a run that ends before it starts a kernel: the bin deletes the one it asked for', async (t) => {
  const { server, front, seen } = await setup(t);
  const r = await runCli(['run', '--json', '--server', front.hostPort, '--timeout', 'soon', '/sub/nb.ipynb'], {
    env: { JUPYTER_TOKEN: server.token },
  });
  assert.equal(r.code, 2, r.stderr);
  assert.deepEqual(kernelCalls(seen), ['POST early', 'DELETE early']);
  assert.deepEqual(await server.kernels(), []);
});

test('a notebook on a kernelspec the server lacks: the early kernel is deleted with the run', async (t) => {
  const { server, front, seen } = await setup(t);
  await server.writeNotebook('other.ipynb', ['1'], {
    kernelspec: { name: 'no-such-kernel', display_name: 'x', language: 'python' },
  });
  const r = await runCli(['run', '--json', '--server', front.hostPort, '/other.ipynb'], {
    env: { JUPYTER_TOKEN: server.token },
  });
  assert.notEqual(r.code, 0);
  assert.match(JSON.parse(r.stdout).error.message, /no-such-kernel/);
  assert.deepEqual(kernelCalls(seen), ['POST early', 'DELETE']);
  assert.deepEqual(await server.kernels(), []);
});

test('Ctrl-C while the CLI loads: the kernel asked for is deleted, exit 130', async (t) => {
  const { server, front, seen } = await setup(t);
  const { child, result } = startCli(['run', '--json', '--server', front.hostPort, '/sub/nb.ipynb'], {
    env: { JUPYTER_TOKEN: server.token },
  });
  const deadline = Date.now() + 30_000;
  while (!seen.some((s) => s.early) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  child.kill('SIGINT');
  const r = await result;
  assert.equal(r.code, 130, r.stderr);
  assert.equal(kernelCalls(seen)[0], 'POST early');
  assert.ok(
    kernelCalls(seen).includes('DELETE early') || kernelCalls(seen).includes('DELETE'),
    kernelCalls(seen).join(),
  );
  assert.deepEqual(await server.kernels(), []);
});

test('a server not written as a loopback address gets no early kernel; the run starts its own', async (t) => {
  const { server, front, seen } = await setup(t);
  const r = await runCli(['run', '--json', '--server', `localhost:${front.port}`, '/sub/nb.ipynb'], {
    env: { JUPYTER_TOKEN: server.token },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(kernelCalls(seen), ['POST', 'DELETE']);
});

test('a server that is down: the run reports it as without the early kernel, and nothing hangs', async (t) => {
  const { server, front } = await setup(t);
  const port = front.port;
  await front.close();
  const r = await runCli(['run', '--json', '--start-timeout', '2', '--server', `127.0.0.1:${port}`, '/sub/nb.ipynb'], {
    env: { JUPYTER_TOKEN: server.token },
  });
  assert.notEqual(r.code, 0);
  assert.equal(JSON.parse(r.stdout).status, 'error');
  assert.doesNotMatch(r.stderr, /could not delete kernel/);
});
