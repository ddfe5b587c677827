/**
 * notebook-image/install-requirements.sh, the image's pip step, run here against this machine's
 * Debian Python (pip --dry-run, from a folder of local wheels: no index is reachable, nothing is
 * installed): a requirement that fits the pinned packages resolves against Debian's copies, one
 * that needs another version of a pinned package (tornado>=6.3) stops the build with pip's
 * ResolutionImpossible naming the constraint, and a requirements file of comments installs nothing.
 * The first and last need every pinned package installed (the data-science base: CI's heavy leg).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { needsImagePackages } from '../../helpers/image-base.js';

const SCRIPT = join(PROJECT_ROOT, 'notebook-image', 'install-requirements.sh');
const PYTHON = '/usr/bin/python3'; // the image's interpreter: Debian's, with Debian's pip
const T = { timeout: 120_000 };

/** Writes minimal wheels (METADATA, WHEEL, RECORD) of packages that depend on the given requirements. */
const WHEELS = `
import base64, hashlib, sys, zipfile
def wheel(folder, name, requires):
    info = f"{name}-1.0.dist-info"
    files = {f"{name}/__init__.py": "",
             f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0\\n"
                                 + "".join(f"Requires-Dist: {r}\\n" for r in requires),
             f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: nbtrigger-test\\nRoot-Is-Purelib: true\\n"
                              + "Tag: py3-none-any\\n"}
    digest = lambda v: base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    record = [f"{k},sha256={digest(v)},{len(v.encode())}" for k, v in files.items()]
    files[f"{info}/RECORD"] = "\\n".join(record + [f"{info}/RECORD,,"]) + "\\n"
    with zipfile.ZipFile(f"{folder}/{name}-1.0-py3-none-any.whl", "w") as z:
        for k, v in files.items():
            z.writestr(k, v)
wheel(sys.argv[1], "nbt_fits", ["numpy>=1.20", "tornado"])
wheel(sys.argv[1], "nbt_needs_new_tornado", ["tornado>=6.3"])
`;

const NO_PYTHON = !existsSync(PYTHON) && 'no Debian python3 here';

describe('install-requirements.sh holds pip to the pinned packages', { skip: NO_PYTHON }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbtrigger-requirements-'));
    const r = spawnSync(PYTHON, ['-c', WHEELS, dir], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function install(requirements: string): Promise<{ status: number | null; out: string }> {
    const file = join(dir, `requirements-${Math.random().toString(36).slice(2)}.txt`);
    await writeFile(file, requirements);
    const r = spawnSync('/bin/sh', [SCRIPT, file, '--dry-run', '--no-index', '--find-links', dir], {
      encoding: 'utf8',
      timeout: 90_000,
      env: { ...process.env, PYTHON, PIP_CONFIG_FILE: '/dev/null' },
    });
    return { status: r.status, out: r.stdout + r.stderr };
  }

  test("a package that fits the pins resolves against Debian's copies", T, async (t) => {
    if (!needsImagePackages(t)) return;
    const r = await install('nbt_fits==1.0\n');
    assert.match(r.out, /Would install nbt_fits-1\.0/, r.out);
    assert.match(r.out, /Requirement already satisfied: numpy>=1\.20 in \/usr\/lib\/python3\/dist-packages/);
    assert.doesNotMatch(r.out, /ResolutionImpossible/);
  });

  test('a package that needs another version of a pinned one fails, naming the constraint', T, async () => {
    const r = await install('nbt_needs_new_tornado==1.0\n');
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /ResolutionImpossible/);
    assert.match(r.out, /\(constraint\) tornado==6\.2/);
    assert.doesNotMatch(r.out, /versions: all/, 'the build stops at pip');
  });

  test('a requirements file of comments runs no pip install, only the checks', T, async (t) => {
    if (!needsImagePackages(t)) return;
    const r = await install('# nothing yet\n\n   # still nothing\n');
    assert.doesNotMatch(r.out, /Would install|Looking in links/, r.out);
    assert.match(r.out, /versions: all \d+ packages as pinned/);
  });
});
