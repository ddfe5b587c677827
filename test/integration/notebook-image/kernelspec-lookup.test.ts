/**
 * The servers' kernelspec lookup (notebook-image/jupyter_server_kernels.py): the `python3` spec is
 * found without importing IPython, ipykernel or debugpy into the server, and is the spec jupyter_client
 * finds as shipped (same argv, display name, language, metadata, folder; same kernelspec folders and
 * the same list of specs), for both places it can come from: an installed python3 kernel.json, and
 * ipykernel's own spec (no kernel.json in any kernelspec folder). Checked through the image's config
 * (traitlets loading jupyter_server_config.py) and the local server's, against a plain jupyter_client,
 * with the real ipykernel installed here. On another jupyter_client version nothing is changed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { findPython, localServerConfig } from '../../../cli/local/jupyter-server.js';
import { PROJECT_ROOT } from '../../../cli/project-root.js';

const T = { timeout: 60_000 };

/** Loads a config (or none), looks the python3 kernelspec up, prints what it found and what was imported. */
const LOOKUP = `
import json, os, sys
from traitlets.config import Config
mode, where, path = sys.argv[1], sys.argv[2], sys.argv[3]
c = Config()
if mode == "image-other-version":
    import jupyter_client
    jupyter_client.__version__ = "8.6.3"
if mode.startswith("image"):
    os.environ["JUPYTER_TOKEN"] = "x" * 32
    exec(compile(open(path).read(), path, "exec"), {"c": c, "get_config": lambda: c, "__file__": path})
elif mode == "local":
    exec(compile(sys.stdin.read(), "local", "exec"), {"c": c, "get_config": lambda: c})
from jupyter_client.kernelspec import KernelSpecManager
ksm = KernelSpecManager(kernel_dirs=[]) if where == "ipykernel" else KernelSpecManager()
spec = ksm.get_kernel_spec("python3")
found = {"dirs": ksm.kernel_dirs, "spec": spec.to_dict(), "folder": spec.resource_dir,
         "all": ksm.find_kernel_specs(), "specs": sorted(ksm.get_all_specs())}
found["imported"] = sorted(m for m in ("IPython", "ipykernel", "debugpy") if m in sys.modules)
print(json.dumps(found))
`;

interface Found {
  dirs: string[];
  spec: Record<string, unknown>;
  folder: string;
  all: Record<string, string>;
  specs: string[];
  imported: string[];
}

function lookup(mode: string, where: 'installed' | 'ipykernel'): Found {
  const config = join(PROJECT_ROOT, 'notebook-image', 'jupyter_server_config.py');
  const r = spawnSync(findPython(), ['-c', LOOKUP, mode, where, config], {
    input: mode === 'local' ? localServerConfig() : '',
    encoding: 'utf8',
    timeout: 50_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Found;
}

for (const where of ['installed', 'ipykernel'] as const) {
  test(
    `the python3 kernelspec (${where}) is jupyter_client's, found without importing IPython, ipykernel or debugpy`,
    T,
    () => {
      const shipped = lookup('plain', where);
      assert.ok(shipped.imported.includes('ipykernel'), 'jupyter_client as shipped imports ipykernel for python3');
      for (const mode of ['image', 'local']) {
        const found = lookup(mode, where);
        assert.deepEqual(found.imported, [], `${mode}: nothing of IPython, ipykernel or debugpy imported`);
        const { imported: _a, ...same } = found;
        const { imported: _b, ...want } = shipped;
        assert.deepEqual(same, want, `${mode}: the same spec, folders and list as jupyter_client finds`);
      }
    },
  );
}

test("on another jupyter_client the lookup is jupyter_client's own", T, () => {
  const found = lookup('image-other-version', 'installed');
  assert.ok(found.imported.includes('ipykernel'));
});
