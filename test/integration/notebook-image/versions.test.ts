/**
 * The image ships what the tests run: notebook-image/versions.txt (what the Dockerfile installs)
 * against what this machine's real Jupyter server and a kernel it started report, and against
 * dpkg-query's Debian versions. The server reports its version on GET /api; the kernel reports
 * the interpreter's, every pinned distribution's (importlib.metadata) and the modules' own
 * (`ipykernel.__version__`, `zmq.pyzmq_version()`, `tornado.version`, ...). Any difference fails,
 * naming the package: the tests would otherwise test something the image does not ship.
 *
 * notebook-image/versions.py, the image's build-time check, passes here and fails on a copy of
 * versions.txt with one pin changed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { findPython } from '../../../cli/local/jupyter-server.js';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { parseMessage } from '../../../functions/request/grammar.js';
import { runNotebook } from '../../../functions/run/runner.js';
import { dpkgVersions, needsImagePackages } from '../../helpers/image-base.js';
import { parsePins, pinDifferences, type Pin, type Reported } from '../../helpers/image-pins.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';

const T = { timeout: 90_000 };
const IMAGE = join(PROJECT_ROOT, 'notebook-image');

/** The kernel's report: the interpreter, every pinned distribution, and the path modules' own versions. */
function reportCell(pins: readonly Pin[]): string {
  return `
import importlib.metadata as md, json, platform
dists = {"python": platform.python_version()}
for d in ${JSON.stringify(pins.map((p) => p.distribution).filter((d) => d !== 'python'))}:
    try:
        dists[d] = md.version(d)
    except md.PackageNotFoundError:
        dists[d] = None
import ipykernel, jupyter_client, jupyter_server, tornado, traitlets, zmq
modules = {"ipykernel": ipykernel.__version__, "jupyter_client": jupyter_client.__version__,
           "jupyter_server": jupyter_server.__version__, "pyzmq": zmq.pyzmq_version(),
           "tornado": tornado.version, "traitlets": traitlets.__version__}
print(json.dumps({"dists": dists, "modules": modules}))
`;
}

describe("the image's pinned versions are what this machine's server and kernel run", () => {
  let server: TestServer;
  let pins: Pin[];
  let reported: Reported;
  let modules: Record<string, string>;
  let serverVersion: string;

  before(async () => {
    pins = parsePins(await readFile(join(IMAGE, 'versions.txt'), 'utf8'));
    server = await startTestServer();
    const api = await request(`http://${server.hostPort}/api`);
    serverVersion = ((await api.body.json()) as { version: string }).version;
    const nb = await server.writeNotebook('versions.ipynb', [reportCell(pins)]);
    const runRequest = parseMessage(`${server.hostPort} /${nb}`);
    const out = await runNotebook({ request: runRequest, token: server.token, limits: { startTimeoutMs: 30_000 } });
    assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
    const text = out
      .exec!.outputs.outputs(0)
      .map((o) => (o as { text?: string }).text ?? '')
      .join('');
    const got = JSON.parse(text) as { dists: Record<string, string | null>; modules: Record<string, string> };
    modules = got.modules;
    reported = {
      debian: dpkgVersions(pins.map((p) => p.debianPackage)),
      python: Object.fromEntries(Object.entries(got.dists).map(([k, v]) => [k, v ?? undefined])),
    };
  });
  after(async () => {
    await server?.close();
  });

  test('the server and kernel path: Debian versions, distributions and modules as pinned', T, () => {
    const path = pins.filter((p) => p.role === 'path');
    const problems = pinDifferences(path, reported);
    // The modules' own version strings and the server's GET /api agree with the pins too.
    const pinned = (d: string): string | undefined => path.find((p) => p.distribution === d)?.version;
    for (const [d, v] of Object.entries(modules)) {
      if (v !== pinned(d)) problems.push(`${d} module reports ${v}, pinned ${pinned(d)}`);
    }
    if (serverVersion !== pinned('jupyter_server')) {
      problems.push(`the server's GET /api reports ${serverVersion}, pinned ${pinned('jupyter_server')}`);
    }
    assert.deepEqual(problems, [], 'notebook-image/versions.txt and this machine differ: move them together');
    assert.equal(Object.keys(modules).length, 6);
  });

  test("the data-science base: as pinned where it is installed (required in CI's heavy-kernel leg)", T, (t) => {
    const base = pins.filter((p) => p.role === 'base');
    const missing = base.filter((p) => reported.debian[p.debianPackage] === undefined).map((p) => p.debianPackage);
    if (missing.length > 0) {
      const reason = `not installed here: ${missing.join(' ')} (scripts/install-test-deps.sh --heavy installs them)`;
      if (process.env.NBTRIGGER_HEAVY === '1')
        assert.fail(`the data-science base is required when NBTRIGGER_HEAVY=1: ${reason}`);
      t.skip(reason);
      return;
    }
    assert.deepEqual(pinDifferences(base, reported), []);
  });
});

describe("versions.py check (the image's build step)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbtrigger-versions-'));
    await copyFile(join(IMAGE, 'versions.py'), join(dir, 'versions.py'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const check = (file: string): { status: number | null; out: string } => {
    const r = spawnSync(findPython(), [join(dir, 'versions.py'), 'check', file], { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, out: r.stdout + r.stderr };
  };

  test('passes on this machine, fails naming the package when a pin differs', T, async (t) => {
    const text = await readFile(join(IMAGE, 'versions.txt'), 'utf8');
    const pins = parsePins(text);
    if (!needsImagePackages(t)) return;
    const ok = check(join(IMAGE, 'versions.txt'));
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, new RegExp(`all ${pins.length} packages as pinned`));

    const drifted = join(dir, 'versions.txt');
    const tornado = /^path\s+python3-tornado\s+\S+\s+tornado\s+\S+$/m;
    assert.match(text, tornado);
    await writeFile(drifted, text.replace(tornado, 'path python3-tornado 6.4.1-1 tornado 6.4.1'));
    const bad = check(drifted);
    assert.equal(bad.status, 1, bad.out);
    assert.match(bad.out, /python3-tornado: Debian version 6\.2\.0-\S+, pinned 6\.4\.1-1/);
    assert.match(bad.out, /tornado: Python finds 6\.2, pinned 6\.4\.1/);
  });

  test('constraints: DISTRIBUTION==VERSION for every pin but the interpreter', T, async () => {
    const pins = parsePins(await readFile(join(IMAGE, 'versions.txt'), 'utf8'));
    const r = spawnSync(findPython(), [join(dir, 'versions.py'), 'constraints', join(IMAGE, 'versions.txt')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const want = pins.filter((p) => p.distribution !== 'python').map((p) => `${p.distribution}==${p.version}`);
    assert.deepEqual(r.stdout.trim().split('\n'), want);
  });
});
