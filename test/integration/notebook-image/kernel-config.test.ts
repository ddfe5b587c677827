/**
 * notebook-image/ipython_kernel_config.py, loaded as a kernel loads it, fixes ipykernel's shutdown
 * race: an event scheduled on the IOPub thread whose wake-up lost the race with the thread's stop
 * (a control-thread flush after shutdown_request) still runs, so the kernel exits at once instead
 * of waiting for the server's SIGTERM. Checked with the same script with and without the config,
 * so the test shows the race it guards against. (How often DELETEs waited 2.5 s before and after
 * is a timing figure: `npm run bench` prints the kernel DELETE's max.)
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

function run(mode: string): string {
  const r = spawnSync('/usr/bin/python3', ['-c', SCRIPT, mode, KERNEL_CONFIG], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('an event scheduled on the IOPub thread as it stops is lost without the config, run with it', () => {
  assert.equal(run('plain'), 'lost', 'the race this guards against (ipykernel as shipped)');
  assert.equal(run('with-config'), 'ran');
});
