/**
 * notebook-image/ipython_kernel_config.py, loaded as a kernel loads it, fixes ipykernel 6's two
 * shutdown races, so the kernel exits at once instead of waiting for the server's SIGTERM:
 * 1. an event scheduled on the IOPub thread whose wake-up lost the race with the thread's stop
 *    (a control-thread flush after shutdown_request) still runs;
 * 2. a publish from the control thread after the IOPub thread closed its end of the event pipe
 *    (the final `idle` status) no longer blocks for ever in zmq's send (the main thread would wait
 *    for the control thread until SIGTERM), and its event still runs.
 * Each is checked with the same script with and without the config, so the test shows the race it
 * guards against. (How often DELETEs waited 2.5 s before and after is a timing figure: `npm run
 * bench` prints the kernel DELETE's max.)
 *
 * Every patch applies only on the ipykernel and jupyter_client versions it was measured on (those
 * of notebook-image/versions.txt): with another version reported, the config changes nothing and
 * writes one line per patch on stderr; a real kernel, started by a real server, whose ipykernel
 * reports another version runs unpatched (nothing frozen at start).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KERNEL_CONFIG } from '../../../cli/local/jupyter-server.js';
import { parseMessage } from '../../../functions/request/grammar.js';
import { runNotebook } from '../../../functions/run/runner.js';
import { startTestServer } from '../../helpers/jupyter.js';

const SCRIPT = `
import sys, threading, zmq
if sys.argv[1] == "with-config":
    from traitlets.config import Config
    exec(compile(open(sys.argv[2]).read(), sys.argv[2], "exec"), {"c": Config(), "get_config": Config})
from ipykernel.iostream import IOPubThread
ctx = zmq.Context()
t = IOPubThread(ctx.socket(zmq.PUB))
t.start()
ran = threading.Event()
t._events.append(ran.set)  # scheduled; its wake-up lost the race with stop()
t.stop()
print("ran" if ran.is_set() else "lost")
`;

/** Race 2: the control thread's pipe was connected; the thread stopping closed the other end. */
const SCRIPT_CLOSED_PIPE = `
import os, sys, threading, time, zmq
if sys.argv[1] == "with-config":
    from traitlets.config import Config
    exec(compile(open(sys.argv[2]).read(), sys.argv[2], "exec"), {"c": Config(), "get_config": Config})
from ipykernel.iostream import IOPubThread
closed, hold = threading.Event(), threading.Event()
def thread_main(self):  # ipykernel's, then held alive after its end of the event pipe is closed
    self.io_loop.start()
    self.io_loop.close(all_fds=True)
    closed.set()
    hold.wait()
IOPubThread._thread_main = thread_main
t = IOPubThread(zmq.Context().socket(zmq.PUB))
t.start()
ran, first, go = threading.Event(), threading.Event(), threading.Event()
def control():  # publishes while the thread runs (its pipe connects), then again as the thread stops
    t.schedule(first.set)
    go.wait(10)
    for _ in range(50):  # until zmq has seen the closed end (then a plain send blocks)
        t.schedule(lambda: None)
        time.sleep(0.01)
    t.schedule(ran.set)
waker = threading.Thread(target=control, daemon=True)
waker.start()
first.wait(10)
t.io_loop.add_callback(t.io_loop.stop)
closed.wait(10)
go.set()
waker.join(4)
if waker.is_alive():
    print("blocked", flush=True)
    os._exit(0)
hold.set()
t.stop()
print("ran" if ran.is_set() else "lost", flush=True)
os._exit(0)
`;

function run(mode: string, script = SCRIPT): string {
  const r = spawnSync('/usr/bin/python3', ['-c', script, mode, KERNEL_CONFIG], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('an event scheduled on the IOPub thread as it stops is lost without the config, run with it', () => {
  assert.equal(run('plain'), 'lost', 'the race this guards against (ipykernel as shipped)');
  assert.equal(run('with-config'), 'ran');
});

test('a publish after the IOPub thread closed its end of the pipe blocks for ever without the config, returns and runs with it', { timeout: 60_000 }, () => {
  assert.equal(run('plain', SCRIPT_CLOSED_PIPE), 'blocked', 'the race this guards against (ipykernel as shipped)');
  assert.equal(run('with-config', SCRIPT_CLOSED_PIPE), 'ran');
});

/**
 * Loads the config as a kernel does, ipykernel and jupyter_client reporting argv[1] and argv[2];
 * prints which methods it replaced.
 */
const GATE = `
import json, sys
import ipykernel, jupyter_client
if sys.argv[1] != "as-installed":
    ipykernel.__version__, jupyter_client.__version__ = sys.argv[1], sys.argv[2]
from ipykernel.iostream import IOPubThread
from ipykernel.kernelapp import IPKernelApp
from jupyter_client.session import Session
methods = lambda: [Session.send, IOPubThread.stop, IOPubThread.schedule, IPKernelApp.start]
before = methods()
from traitlets.config import Config
exec(compile(open(sys.argv[3]).read(), sys.argv[3], "exec"), {"c": Config(), "get_config": Config})
print(json.dumps([a is not b for a, b in zip(before, methods())]))
`;

function gate(ipykernel: string, jupyterClient: string): { replaced: boolean[]; stderr: string[] } {
  // PYDEVD_DISABLE_FILE_VALIDATION: as the image and the local servers set it (debugpy's start-up notice).
  const r = spawnSync('/usr/bin/python3', ['-c', GATE, ipykernel, jupyterClient, KERNEL_CONFIG],
    { encoding: 'utf8', timeout: 30_000, env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' } });
  assert.equal(r.status, 0, r.stderr);
  return { replaced: JSON.parse(r.stdout) as boolean[], stderr: r.stderr.split('\n').filter(Boolean) };
}

test('on the tested versions every patch applies, silently', () => {
  assert.deepEqual(gate('as-installed', ''), { replaced: [true, true, true, true], stderr: [] });
});

test('on other versions no patch applies, and each says so in one line', () => {
  const other = gate('6.29.5', '8.6.3');
  assert.deepEqual(other.replaced, [false, false, false, false]);
  assert.deepEqual(other.stderr, [
    'nbtrigger kernel config: stream splitting is off: jupyter_client 8.6.3 is not the tested 7.4.9',
    'nbtrigger kernel config: the IOPub shutdown fix is off: ipykernel 6.29.5 is not the tested 6.17.0',
    'nbtrigger kernel config: the start-up gc.freeze is off: ipykernel 6.29.5 is not the tested 6.17.0',
  ]);
  // Only the mismatched package's patches are off.
  assert.deepEqual(gate('6.29.5', '7.4.9').replaced, [true, false, false, false]);
});

/** In kernel processes only (the server loads it too): ipykernel and jupyter_client report other versions. */
const SITECUSTOMIZE = `
import sys
if "ipykernel_launcher" in getattr(sys, "orig_argv", []):
    import ipykernel, jupyter_client
    ipykernel.__version__, jupyter_client.__version__ = "6.29.5", "8.6.3"
`;

const PROBE = `
import gc
from ipykernel.iostream import IOPubThread
from jupyter_client.session import Session
print(gc.get_freeze_count(), getattr(IOPubThread.stop, "_nbtrigger_drain", False),
      getattr(Session.send, "_nbtrigger_split", False))
`;

test('a real kernel reporting another ipykernel runs unpatched; the tested one patched', { timeout: 90_000 },
  async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbtrigger-other-version-'));
  await writeFile(join(dir, 'sitecustomize.py'), SITECUSTOMIZE);
  const saved = process.env.PYTHONPATH;
  const tested = await startTestServer();
  // Kernels inherit the server's environment: this server's kernels load the sitecustomize above.
  process.env.PYTHONPATH = dir;
  let other: Awaited<ReturnType<typeof startTestServer>> | undefined;
  try {
    other = await startTestServer();
  } finally {
    if (saved === undefined) delete process.env.PYTHONPATH;
    else process.env.PYTHONPATH = saved;
  }
  const probe = async (server: Awaited<ReturnType<typeof startTestServer>>): Promise<string> => {
    const nb = await server.writeNotebook('probe.ipynb', [PROBE]);
    const request = parseMessage(`${server.hostPort} /${nb}`);
    const out = await runNotebook({ request, token: server.token, limits: { startTimeoutMs: 30_000 } });
    assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
    return out.exec!.outputs.outputs(0).map((o) => (o as { text?: string }).text ?? '').join('').trim();
  };
  try {
    assert.match(await probe(tested), /^[1-9]\d{4,} True True$/,
      'the tested versions: start-up objects frozen, both patches in');
    assert.equal(await probe(other), '0 False False');
  } finally {
    await tested.close();
    await other.close();
    await rm(dir, { recursive: true, force: true });
  }
});
