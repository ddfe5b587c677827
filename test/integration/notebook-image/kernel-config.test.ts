/**
 * notebook-image/ipython_kernel_config.py, loaded as a kernel loads it (with the patches module beside
 * it, nbtrigger_kernel_patches.py), fixes ipykernel 6's two
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
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KERNEL_CONFIG } from '../../../cli/local/jupyter-server.js';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { parseMessage } from '../../../functions/request/grammar.js';
import { runNotebook } from '../../../functions/run/runner.js';
import { startTestServer } from '../../helpers/jupyter.js';

/** The reproductions (also what docs/kernel.md gives upstream), run as scripts. */
const UPSTREAM = join(PROJECT_ROOT, 'notebook-image', 'upstream');
/** Race 1: an event appended to the IOPub thread's queue whose wake-up lost the race with stop(). */
const SCRIPT = readFileSync(join(UPSTREAM, 'repro_lost_event.py'), 'utf8');
/** Race 2: the control thread's pipe was connected; the thread stopping closed the other end. */
const SCRIPT_CLOSED_PIPE = readFileSync(join(UPSTREAM, 'repro_blocked_wakeup.py'), 'utf8');

function run(mode: string, script = SCRIPT, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync('/usr/bin/python3', ['-c', script, mode, KERNEL_CONFIG], {
    encoding: 'utf8',
    timeout: 30_000,
    env,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

test('an event scheduled on the IOPub thread as it stops is lost without the config, run with it', () => {
  assert.equal(run('plain'), 'lost', 'the race this guards against (ipykernel as shipped)');
  assert.equal(run('with-config'), 'ran');
});

test('a publish after the IOPub thread closed its end of the pipe ' +
  'blocks for ever without the config, returns and runs with it', {
  timeout: 60_000,
}, () => {
  assert.equal(run('plain', SCRIPT_CLOSED_PIPE), 'blocked', 'the race this guards against (ipykernel as shipped)');
  assert.equal(run('with-config', SCRIPT_CLOSED_PIPE), 'ran');
});

/**
 * The upstream patch of docs/kernel.md (notebook-image/upstream/ipykernel-iostream-shutdown.diff),
 * applied with `patch` to a copy of the installed ipykernel, fixes both reproductions. It fails
 * when an ipykernel upgrade no longer takes the patch (the code it changes has moved).
 */
test('the upstream patch applies to the installed ipykernel and fixes both races', { timeout: 60_000 }, async () => {
  const where = spawnSync(
    '/usr/bin/python3',
    ['-c', 'import ipykernel, os; print(os.path.dirname(ipykernel.__file__))'],
    { encoding: 'utf8' },
  );
  const dir = await mkdtemp(join(tmpdir(), 'nbt-upstream-'));
  try {
    await cp(where.stdout.trim(), join(dir, 'ipykernel'), { recursive: true });
    const applied = spawnSync('patch', ['-p1', '--forward', '-i', join(UPSTREAM, 'ipykernel-iostream-shutdown.diff')], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(applied.status, 0, `the patch no longer applies: ${applied.stdout}${applied.stderr}`);
    const env = { ...process.env, PYTHONPATH: dir };
    assert.equal(run('plain', SCRIPT, env), 'ran');
    assert.equal(run('plain', SCRIPT_CLOSED_PIPE, env), 'ran');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
methods = lambda: [Session.send, IOPubThread.stop, IOPubThread.schedule, IPKernelApp.start, IPKernelApp._bind_socket]
before = methods()
from traitlets.config import Config
exec(compile(open(sys.argv[3]).read(), sys.argv[3], "exec"),
     {"c": Config(), "get_config": Config, "__file__": sys.argv[3]})
print(json.dumps([a is not b for a, b in zip(before, methods())]))
`;

function gate(ipykernel: string, jupyterClient: string): { replaced: boolean[]; stderr: string[] } {
  // PYDEVD_DISABLE_FILE_VALIDATION: as the image and the local servers set it (debugpy's start-up notice).
  const r = spawnSync('/usr/bin/python3', ['-c', GATE, ipykernel, jupyterClient, KERNEL_CONFIG], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' },
  });
  assert.equal(r.status, 0, r.stderr);
  return { replaced: JSON.parse(r.stdout) as boolean[], stderr: r.stderr.split('\n').filter(Boolean) };
}

test('on the tested versions every patch applies, silently', () => {
  assert.deepEqual(gate('as-installed', ''), { replaced: [true, true, true, true, true], stderr: [] });
});

test('on other versions no patch applies, and each says so in one line', () => {
  const other = gate('6.29.5', '8.6.3');
  assert.deepEqual(other.replaced, [false, false, false, false, false]);
  assert.deepEqual(other.stderr, [
    'nbtrigger kernel config: stream splitting is off: jupyter_client 8.6.3 is not the tested 7.4.9',
    'nbtrigger kernel config: the IOPub shutdown fix is off: ipykernel 6.29.5 is not the tested 6.17.0',
    'nbtrigger kernel config: the start-up gc.freeze is off: ipykernel 6.29.5 is not the tested 6.17.0',
    'nbtrigger kernel config: the unbounded iopub queue is off: ipykernel 6.29.5 is not the tested 6.17.0',
  ]);
  // Only the mismatched package's patches are off.
  assert.deepEqual(gate('6.29.5', '7.4.9').replaced, [true, false, false, false, false]);
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
print(gc.get_freeze_count(), getattr(IOPubThread.stop, "_nbtrigger", False),
      getattr(Session.send, "_nbtrigger", False))
`;

test('a real kernel reporting another ipykernel runs unpatched; the tested one patched', {
  timeout: 90_000,
}, async () => {
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
    return out
      .exec!.outputs.outputs(0)
      .map((o) => (o as { text?: string }).text ?? '')
      .join('')
      .trim();
  };
  try {
    assert.match(
      await probe(tested),
      /^[1-9]\d{4,} True True$/,
      'the tested versions: start-up objects frozen, both patches in',
    );
    assert.equal(await probe(other), '0 False False');
  } finally {
    await tested.close();
    await other.close();
    await rm(dir, { recursive: true, force: true });
  }
});
