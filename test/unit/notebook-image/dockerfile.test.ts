/**
 * The notebook image's intent, checked on paper (no Docker engine runs here): the Dockerfile is
 * parsed and every rule is also run against a broken copy, so each check can fail.
 * Spec: issue 4 ("Image and build"); notebook-image/README.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { PROJECT_ROOT } from '../../../cli/jupyter-server.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { finalStage, parseDockerfile, type Instruction } from '../../helpers/dockerfile.js';

const read = (p: string): string => readFileSync(join(PROJECT_ROOT, p), 'utf8');
const DOCKERFILE = read('notebook-image/Dockerfile');
const notebooks = parseManifest(read('infra/nbtrigger.yaml'), 'infra/nbtrigger.yaml').notebooks.map((n) => n.file);

/** Every problem with the image's intent; [] when all is well. `files` reads COPY sources from the repo. */
function intentProblems(text: string, files: (p: string) => string = read): string[] {
  const problems: string[] = [];
  const all = parseDockerfile(text);
  const stage = finalStage(all);
  const env = new Map<string, string>();
  for (const i of stage.filter((x) => x.keyword === 'ENV')) {
    for (const m of i.raw.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env.set(m[1]!, m[2]!.replace(/^"|"$/g, ''));
  }
  // FROM: pinned by a full version tag or a digest, never latest.
  const from = stage[0]?.keyword === 'FROM' ? stage[0].args[0] ?? '' : '';
  if (!/(?::[^/:@]*\d+\.\d+[^/:@]*|@sha256:[0-9a-f]{64})$/.test(from) || /:latest(?:@|$)/.test(from)) problems.push(`FROM "${from}" is not pinned to a version tag or digest`);
  // Port: EXPOSE the port Cloud Run sends to; the default PORT agrees.
  const exposed = stage.filter((x) => x.keyword === 'EXPOSE').flatMap((x) => x.args);
  if (!exposed.includes('8080')) problems.push('EXPOSE 8080 missing');
  if (env.has('PORT') && env.get('PORT') !== '8080') problems.push(`ENV PORT=${env.get('PORT')} differs from EXPOSE`);
  // Token: never baked in (no ENV/ARG of it, no literal on any line).
  for (const i of all) {
    if ((i.keyword === 'ENV' || i.keyword === 'ARG') && /\bJUPYTER_TOKEN\b/.test(i.raw)) problems.push(`line ${i.line}: ${i.keyword} sets JUPYTER_TOKEN (it must come from Secret Manager)`);
    if (/token=|--token\b|\.token\s*=/i.test(i.raw)) problems.push(`line ${i.line}: a token literal`);
    if (/\b[0-9a-f]{32,}\b/i.test(i.raw.replace(/@sha256:[0-9a-f]{64}/g, ''))) problems.push(`line ${i.line}: a long hex string (a token?)`);
  }
  // CMD: exec form, starting the server script that was copied into the image.
  const cmd = [...stage].reverse().find((x) => x.keyword === 'CMD' || x.keyword === 'ENTRYPOINT');
  const script = startScript(cmd, stage, files);
  if (typeof script === 'string') problems.push(script);
  else {
    if (!/exec\s+"\$\{PYTHON:-python3\}"\s+-m\s+jupyter_server\b/.test(script.text)) problems.push('the start script does not exec `python3 -m jupyter_server`');
    if (!/--ServerApp\.ip="\$\{JUPYTER_IP:-0\.0\.0\.0\}"/.test(script.text)) problems.push('the start script does not bind 0.0.0.0 by default');
    if (!/--ServerApp\.port="\$\{PORT(?::-8080)?\}"/.test(script.text)) problems.push('the start script does not listen on $PORT');
    if (/--(?:ServerApp\.|IdentityProvider\.)?token=/i.test(script.text)) problems.push('the start script puts the token on the command line');
    if (/lab\s+build|jupyterlab/i.test(script.text + all.map((i) => i.raw).join('\n'))) problems.push('a JupyterLab build or JupyterLab itself (slow start)');
  }
  // Server config: copied, with every file it loads from its own folder beside it.
  const cfgCopy = stage.find((x) => x.keyword === 'COPY' && x.args.slice(0, -1).includes('notebook-image/jupyter_server_config.py'));
  if (!cfgCopy) problems.push('notebook-image/jupyter_server_config.py is not copied into the image');
  else {
    const beside = [...files('notebook-image/jupyter_server_config.py').matchAll(/os\.path\.dirname\([^\n]*?"([\w.-]+\.py)"/g)].map((m) => m[1]!);
    for (const f of beside) {
      if (!cfgCopy.args.slice(0, -1).includes(`notebook-image/${f}`)) problems.push(`${f}, which the server config loads from its own folder, is not copied beside it`);
    }
  }
  // USER: the last one is not root.
  const user = [...stage].reverse().find((x) => x.keyword === 'USER')?.args[0];
  if (user === undefined || /^(?:root|0)(?::|$)/.test(user)) problems.push(`USER is ${user ?? 'not set'} (runs as root)`);
  // Notebooks: every manifest notebook is copied to its repo path under the server root.
  const workdir = [...stage].reverse().find((x) => x.keyword === 'WORKDIR')?.args[0] ?? '/';
  if (env.get('NBTRIGGER_ROOT_DIR') !== workdir) problems.push(`NBTRIGGER_ROOT_DIR (${env.get('NBTRIGGER_ROOT_DIR')}) is not the WORKDIR ${workdir}`);
  for (const nb of notebooks) {
    const hit = stage.filter((x) => x.keyword === 'COPY' && x.flags.from === undefined).some((c) => {
      const [srcs, dest] = [c.args.slice(0, -1), c.args.at(-1)!];
      return srcs.some((s) => {
        const src = s.replace(/\/+$/, '');
        const target = posix.resolve(workdir, dest);
        // A folder's contents go into dest; a file goes into dest/ (or is renamed to dest).
        const lands = nb === src ? (dest.endsWith('/') ? posix.join(target, posix.basename(src)) : target) : nb.startsWith(`${src}/`) ? posix.join(target, nb.slice(src.length + 1)) : undefined;
        return lands === posix.join(workdir, nb) && c.flags.chown !== undefined;
      });
    });
    if (!hit) problems.push(`notebook ${nb} is not copied to ${posix.join(workdir, nb)} (owned by the user)`);
  }
  return problems;
}

function startScript(cmd: Instruction | undefined, stage: Instruction[], files: (p: string) => string): { text: string } | string {
  if (!cmd) return 'no CMD/ENTRYPOINT';
  if (!cmd.json) return `line ${cmd.line}: ${cmd.keyword} is not in exec (JSON) form (signals would not reach the server)`;
  const target = cmd.json.find((a) => a.endsWith('.sh'));
  if (!target) return `line ${cmd.line}: ${cmd.keyword} does not run the start script`;
  const copy = stage.find((x) => x.keyword === 'COPY' && x.args.slice(0, -1).some((s) => posix.join(x.args.at(-1)!, posix.basename(s)) === target));
  if (!copy) return `${target} is not copied into the image`;
  const src = copy.args.slice(0, -1).find((s) => posix.basename(s) === posix.basename(target))!;
  return { text: files(src) };
}

test('parser: continuations, comments inside them, exec form, flags, escape directive', () => {
  const ins = parseDockerfile('# syntax=docker/dockerfile:1\nFROM --platform=linux/amd64 a:1.2 AS b\nRUN echo 1 \\\n  # a comment\n\n  && echo 2\nCOPY --chown=1:1 ["a b", "c"]\nCMD ["sh", "-c", "x"]\nENTRYPOINT exec x\n');
  assert.deepEqual(ins.map((i) => [i.keyword, i.line]), [['FROM', 2], ['RUN', 3], ['COPY', 7], ['CMD', 8], ['ENTRYPOINT', 9]]);
  assert.deepEqual(ins[0]!.flags, { platform: 'linux/amd64' });
  assert.deepEqual(ins[0]!.args, ['a:1.2', 'AS', 'b']);
  assert.equal(ins[1]!.raw, 'echo 1 && echo 2');
  assert.deepEqual(ins[2]!.json, ['a b', 'c']);
  assert.deepEqual(ins[2]!.flags, { chown: '1:1' });
  assert.deepEqual(ins[3]!.json, ['sh', '-c', 'x']);
  assert.equal(ins[4]!.json, undefined);
  const tick = parseDockerfile('# escape=`\nRUN a `\n b\n');
  assert.equal(tick[0]!.raw, 'a b');
  assert.throws(() => parseDockerfile('CMD ["a", 1]'), /array of strings/);
  assert.throws(() => parseDockerfile('CMD ["a",'), /not a JSON array/);
  assert.throws(() => parseDockerfile('RUN a \\\n'), /continues past the end/);
});

test('the notebook image meets every rule', () => {
  assert.deepEqual(intentProblems(DOCKERFILE), []);
  assert.ok(notebooks.length > 0);
});

const broken: Array<[string, (s: string) => string, RegExp]> = [
  ['FROM :latest', (s) => s.replace(/^FROM .*$/m, 'FROM python:latest'), /not pinned/],
  ['FROM without a version', (s) => s.replace(/^FROM .*$/m, 'FROM python:slim'), /not pinned/],
  ['no EXPOSE', (s) => s.replace(/^EXPOSE .*$/m, ''), /EXPOSE 8080/],
  ['token in ENV', (s) => s.replace(/^USER /m, 'ENV JUPYTER_TOKEN=abc\nUSER '), /sets JUPYTER_TOKEN/],
  ['token literal on the CMD', (s) => s.replace(/^CMD .*$/m, 'CMD ["/bin/sh", "/opt/nbtrigger/start-server.sh", "--IdentityProvider.token=x"]'), /token literal/],
  ['a hex secret', (s) => s.replace(/^USER /m, `ENV SOMETHING=${'ab12'.repeat(10)}\nUSER `), /long hex/],
  ['shell-form CMD', (s) => s.replace(/^CMD .*$/m, 'CMD /bin/sh /opt/nbtrigger/start-server.sh'), /exec \(JSON\) form/],
  ['CMD without the script', (s) => s.replace(/^CMD .*$/m, 'CMD ["python", "-m", "jupyter_server"]'), /does not run the start script/],
  ['script not copied', (s) => s.replace(/ notebook-image\/start-server\.sh/, ''), /not copied into the image/],
  ['server kernels file not copied', (s) => s.replace(/ notebook-image\/jupyter_server_kernels\.py/, ''), /jupyter_server_kernels\.py, which the server config loads/],
  ['root user', (s) => s.replace(/^USER .*$/m, 'USER root'), /runs as root/],
  ['no user', (s) => s.replace(/^USER .*$/m, ''), /USER is not set/],
  ['notebooks not copied', (s) => s.replace(/^COPY --chown=1000:1000 examples\/.*$/m, ''), /notebook examples\/hello\.ipynb is not copied/],
  ['notebooks copied elsewhere', (s) => s.replace(/\.\/examples\/$/m, './nb/'), /is not copied/],
  ['root dir not the workdir', (s) => s.replace(/^WORKDIR .*$/m, 'WORKDIR /srv'), /NBTRIGGER_ROOT_DIR/],
  ['lab build', (s) => s.replace(/^USER /m, 'RUN jupyter lab build\nUSER '), /JupyterLab/],
];
for (const [name, mutate, why] of broken) {
  test(`a broken Dockerfile is caught: ${name}`, () => {
    const text = mutate(DOCKERFILE);
    assert.notEqual(text, DOCKERFILE, 'the mutation must change the file');
    assert.match(intentProblems(text).join('\n'), why);
  });
}

test('a start script that drops $PORT or 0.0.0.0, or puts the token on the command line, is caught', () => {
  const script = read('notebook-image/start-server.sh');
  const files = (edit: (s: string) => string) => (p: string): string => (p.endsWith('start-server.sh') ? edit(script) : read(p));
  assert.match(intentProblems(DOCKERFILE, files((s) => s.replace('${PORT:-8080}', '8888'))).join('\n'), /\$PORT/);
  assert.match(intentProblems(DOCKERFILE, files((s) => s.replace('${JUPYTER_IP:-0.0.0.0}', '${JUPYTER_IP:-127.0.0.1}'))).join('\n'), /0\.0\.0\.0/);
  assert.match(intentProblems(DOCKERFILE, files((s) => s.replace('--no-browser', '--no-browser --ServerApp.token="$JUPYTER_TOKEN"'))).join('\n'), /token on the command line/);
  assert.match(intentProblems(DOCKERFILE, files((s) => s.replace('-m jupyter_server', '-m notebook'))).join('\n'), /does not exec/);
});

test('requirements are pinned and hold the server and the kernel, and no JupyterLab', () => {
  const reqs = read('notebook-image/requirements.txt').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  for (const r of reqs) assert.match(r, /^[A-Za-z0-9_.-]+==[0-9][^\s]*$/, `not pinned: ${r}`);
  const names = reqs.map((r) => r.split('==')[0]!.toLowerCase().replace(/_/g, '-'));
  assert.ok(names.includes('jupyter-server') && names.includes('ipykernel'), names.join(','));
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
