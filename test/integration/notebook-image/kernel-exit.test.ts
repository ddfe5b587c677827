/**
 * How nbtrigger's kernels end (docs/benchmarks.md: "write outputs while it shuts down, without ever leaving
 * it running"), on real Jupyter servers and ipykernels:
 *
 * - The kernel config freezes the kernel's own start-up objects (gc.freeze) so a kernel asked to
 *   shut down exits in milliseconds; a notebook's objects are not frozen, so everything a notebook
 *   leaves behind is still finalized at exit exactly as without it: unclosed files (global, in a
 *   reference cycle, held by a module) keep their contents, its atexit handlers run, its
 *   TemporaryDirectory is removed, its non-daemon thread is joined. Checked with the freeze and
 *   with the opt-out (NBTRIGGER_KERNEL_GC_FREEZE=0), which must agree.
 * - The servers (the image's config and the local one) check for the kernel's exit every 5 ms
 *   instead of jupyter_client's 100 ms: checked on the poll interval each config leaves, against
 *   jupyter_client as shipped.
 *
 * How long a DELETE takes is a timing figure: `npm run bench` prints it (physical kernel delete).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findPython, localServerConfig } from '../../../cli/local/jupyter-server.js';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { parseMessage } from '../../../functions/request/grammar.js';
import { runNotebook } from '../../../functions/run/runner.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';

const T = { timeout: 60_000 };

/** A cell that leaves behind everything interpreter teardown finalizes, then prints the freeze count. */
function leftBehind(dir: string): string {
  return `
import atexit, gc, json, os, tempfile, threading, time
D = ${JSON.stringify(dir)}
f1 = open(D + "/global", "w"); f1.write("a" * 10)
class Box: pass
c = Box(); c.self = c; c.f = open(D + "/cycle", "w"); c.f.write("b")
json._nbtrigger_probe = open(D + "/module", "w"); json._nbtrigger_probe.write("c")
m = Box(); m.self = m; m.f = open(D + "/module-cycle", "w"); m.f.write("d"); json._nbtrigger_probe_cycle = m
atexit.register(lambda: open(D + "/atexit", "w").write("e"))
td = tempfile.TemporaryDirectory(); open(td.name + "/z", "w").close(); open(D + "/tmpdir", "w").write(td.name)
def later():
    time.sleep(0.3); open(D + "/thread", "w").write("f")
threading.Thread(target=later).start()
print(gc.get_freeze_count())
`;
}

interface Left {
  files: Record<string, string | null>;
  tmpdirRemoved: boolean;
  freezeCount: number;
}

async function runLeftBehind(server: TestServer): Promise<Left> {
  const dir = await mkdtemp(join(tmpdir(), 'nbtrigger-kernel-exit-'));
  try {
    const nb = await server.writeNotebook('left-behind.ipynb', [leftBehind(dir)]);
    const out = await runNotebook({
      request: parseMessage(`${server.hostPort} /${nb}`),
      token: server.token,
      limits: { startTimeoutMs: 20_000, cleanupTimeoutMs: 20_000 },
    });
    assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
    // runNotebook returns once the DELETE answered: the kernel process has exited.
    assert.deepEqual(await server.kernels(), []);
    const printed = out
      .exec!.outputs.outputs(0)
      .map((o) => (o as { text?: string }).text ?? '')
      .join('');
    const files: Record<string, string | null> = {};
    for (const name of ['global', 'cycle', 'module', 'module-cycle', 'atexit', 'thread']) {
      const p = join(dir, name);
      files[name] = existsSync(p) ? await readFile(p, 'utf8') : null;
    }
    const tmp = await readFile(join(dir, 'tmpdir'), 'utf8');
    return { files, tmpdirRemoved: !existsSync(tmp), freezeCount: Number(printed.trim()) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const EXPECTED = { global: 'aaaaaaaaaa', cycle: 'b', module: 'c', 'module-cycle': 'd', atexit: 'e', thread: 'f' };

describe("kernel exit: start-up objects frozen, the notebook's finalized", () => {
  let frozen: TestServer;
  let plain: TestServer;
  before(async () => {
    frozen = await startTestServer();
    // Kernels inherit the server's environment: this server's kernels opt out.
    process.env.NBTRIGGER_KERNEL_GC_FREEZE = '0';
    try {
      plain = await startTestServer();
    } finally {
      delete process.env.NBTRIGGER_KERNEL_GC_FREEZE;
    }
  });
  after(async () => {
    await frozen?.close();
    await plain?.close();
  });

  test('with the freeze: everything the notebook left is finalized at exit', T, async () => {
    const left = await runLeftBehind(frozen);
    assert.ok(left.freezeCount > 10_000, `the kernel's start-up objects are frozen (${left.freezeCount})`);
    assert.deepEqual(left.files, EXPECTED);
    assert.equal(left.tmpdirRemoved, true);
  });

  test('opted out (NBTRIGGER_KERNEL_GC_FREEZE=0): nothing frozen, the same files', T, async () => {
    const left = await runLeftBehind(plain);
    assert.equal(left.freezeCount, 0);
    assert.deepEqual(left.files, EXPECTED);
    assert.equal(left.tmpdirRemoved, true);
  });
});

/** Loads a server config as traitlets does, then reports the poll interval KernelManager._async_wait uses. */
const POLL = `
import asyncio, os, sys
from traitlets.config import Config
mode, path = sys.argv[1], sys.argv[2]
c = Config()
if mode == "image-other-version":
    import jupyter_client
    jupyter_client.__version__ = "8.6.3"
if mode.startswith("image"):
    os.environ["JUPYTER_TOKEN"] = "x" * 32
    exec(compile(open(path).read(), path, "exec"), {"c": c, "get_config": lambda: c, "__file__": path})
elif mode == "local":
    exec(compile(sys.stdin.read(), "local", "exec"), {"c": c, "get_config": lambda: c})
from jupyter_client.manager import KernelManager
asked = []
real_sleep = asyncio.sleep
async def sleep(d, *a, **k):
    asked.append(d)
    await real_sleep(0)
asyncio.sleep = sleep
class Exiting(KernelManager):
    checks = 0
    def is_alive(self):
        self.checks += 1
        return self.checks < 4
asyncio.run(Exiting()._async_wait(pollinterval=0.1))  # as _async_finish_shutdown calls it
print(max(asked))
`;

function pollInterval(mode: 'plain' | 'image' | 'local'): number {
  return poll(mode).interval;
}

function poll(mode: string): { interval: number; stderr: string } {
  const r = spawnSync(
    findPython(),
    ['-c', POLL, mode, join(PROJECT_ROOT, 'notebook-image', 'jupyter_server_config.py')],
    { input: mode === 'local' ? localServerConfig() : '', encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return { interval: Number(r.stdout.trim()), stderr: r.stderr };
}

test("servers check for a shutting-down kernel's exit every 5 ms (jupyter_client: 100 ms)", T, () => {
  assert.equal(pollInterval('plain'), 0.1, 'jupyter_client as shipped');
  assert.equal(pollInterval('image'), 0.005, "the image's jupyter_server_config.py");
  assert.equal(pollInterval('local'), 0.005, "the local server's config");
});

test('on another jupyter_client the server keeps its 100 ms poll and says so in one line', T, () => {
  const other = poll('image-other-version');
  assert.equal(other.interval, 0.1);
  assert.deepEqual(
    other.stderr.split('\n').filter((l) => l.startsWith('nbtrigger')),
    ['nbtrigger server config: prompt kernel reaping is off: jupyter_client 8.6.3 is not the tested 7.4.9'],
  );
  assert.doesNotMatch(poll('image').stderr, /nbtrigger server config/);
});
