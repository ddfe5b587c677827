/**
 * The files the notebook image copies, checked on paper: a start script that drops $PORT or 0.0.0.0
 * or puts the token on the command line breaks the image's intent (dockerfile-intent.ts);
 * requirements.txt holds only pinned packages that Debian does not pin; the server config reads
 * token, port and address from the environment. See notebook-image/README.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePins } from '../../helpers/image-pins.js';
import { DOCKERFILE, intentProblems, read } from './dockerfile-intent.js';

test('a start script that drops $PORT or 0.0.0.0, puts the token on its command line or runs no server: caught', () => {
  const script = read('notebook-image/start-server.sh');
  const files =
    (edit: (s: string) => string) =>
    (p: string): string =>
      p.endsWith('start-server.sh') ? edit(script) : read(p);
  assert.match(
    intentProblems(
      DOCKERFILE,
      files((s) => s.replace('${PORT:-8080}', '8888')),
    ).join('\n'),
    /\$PORT/,
  );
  assert.match(
    intentProblems(
      DOCKERFILE,
      files((s) => s.replace('${JUPYTER_IP:-0.0.0.0}', '${JUPYTER_IP:-127.0.0.1}')),
    ).join('\n'),
    /0\.0\.0\.0/,
  );
  assert.match(
    intentProblems(
      DOCKERFILE,
      files((s) => s.replace('--no-browser', '--no-browser --ServerApp.token="$JUPYTER_TOKEN"')),
    ).join('\n'),
    /token on the command line/,
  );
  assert.match(
    intentProblems(
      DOCKERFILE,
      files((s) => s.replace('"$here/server_main.py"', '-m notebook')),
    ).join('\n'),
    /does not exec server_main\.py/,
  );
  assert.match(
    intentProblems(DOCKERFILE, (p) =>
      p.endsWith('server_main.py') ? read(p).replace('launch_new_instance', 'main') : read(p),
    ).join('\n'),
    /server_main\.py does not run jupyter_server/,
  );
});

test('requirements.txt: only pinned lines, none of the Debian-pinned packages, no JupyterLab', () => {
  const reqs = read('notebook-image/requirements.txt')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  for (const r of reqs) assert.match(r, /^[A-Za-z0-9_.-]+==[0-9][^\s]*$/, `not pinned: ${r}`);
  const norm = (n: string): string => n.toLowerCase().replace(/[-_.]+/g, '-');
  const names = reqs.map((r) => norm(r.split('==')[0]!));
  const pinned = parsePins(read('notebook-image/versions.txt')).map((p) => norm(p.distribution));
  assert.deepEqual(
    names.filter((n) => pinned.includes(n)),
    [],
    'these come from Debian (versions.txt)',
  );
  assert.ok(!names.some((n) => n === 'jupyterlab' || n === 'notebook'), names.join(','));
});

test('the server config reads token, port and address from the environment and raises the iopub limits', () => {
  const cfg = read('notebook-image/jupyter_server_config.py');
  assert.match(cfg, /os\.environ\.get\("JUPYTER_TOKEN"/);
  assert.match(cfg, /c\.ServerApp\.port = int\(os\.environ\.get\("PORT", "8080"\)\)/);
  assert.match(cfg, /c\.ServerApp\.ip = os\.environ\.get\("JUPYTER_IP", "0\.0\.0\.0"\)/);
  assert.match(cfg, /c\.ServerApp\.open_browser = False/);
  assert.match(cfg, /c\.ServerApp\.iopub_msg_rate_limit = 1e10/);
  assert.match(cfg, /c\.ServerApp\.iopub_data_rate_limit = 1e10/);
  assert.doesNotMatch(cfg, /\b[0-9a-f]{32,}\b/i);
});
