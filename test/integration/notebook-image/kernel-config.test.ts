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
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { KERNEL_CONFIG } from '../../../cli/jupyter-server.js';

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
