/**
 * The notebook image's intent, checked on paper (no Docker engine runs here): the Dockerfile is
 * parsed and every rule is also run against a broken copy, so each check can fail. The pinned
 * packages: the apt-get step's own package list (its awk over versions.txt, run here) installs
 * every pin at its version, the build checks the installed versions, and pip runs only under
 * constraints from the pins. See notebook-image/README.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { finalStage, parseDockerfile, type Instruction } from '../../helpers/dockerfile.js';
import { parsePins } from '../../helpers/image-pins.js';

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
    for (const m of i.raw.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
      env.set(m[1]!, m[2]!.replace(/^"|"$/g, ''));
  }
  // FROM (its ARGs resolved to their defaults): Debian bookworm, the test machine's distribution,
  // pinned by a version or dated tag or a digest, never latest.
  const from = resolveArgs(stage[0]?.keyword === 'FROM' ? (stage[0].args[0] ?? '') : '', all);
  const pinnedTag = /(?::[^/:@]*(?:\d+\.\d+|-\d{8}-)[^/:@]*|@sha256:[0-9a-f]{64})$/;
  if (!pinnedTag.test(from) || /:latest(?:@|$)/.test(from)) {
    problems.push(`FROM "${from}" is not pinned to a version tag or digest`);
  }
  if (!/^(?:docker\.io\/)?(?:library\/)?debian:bookworm-/.test(from)) {
    problems.push(`FROM "${from}" is not Debian bookworm (the pinned packages are bookworm's)`);
  }
  problems.push(...pinProblems(stage, env, files));
  // Port: EXPOSE the port Cloud Run sends to; the default PORT agrees.
  const exposed = stage.filter((x) => x.keyword === 'EXPOSE').flatMap((x) => x.args);
  if (!exposed.includes('8080')) problems.push('EXPOSE 8080 missing');
  if (env.has('PORT') && env.get('PORT') !== '8080') problems.push(`ENV PORT=${env.get('PORT')} differs from EXPOSE`);
  // Token: never baked in (no ENV/ARG of it, no literal on any line).
  for (const i of all) {
    if ((i.keyword === 'ENV' || i.keyword === 'ARG') && /\bJUPYTER_TOKEN\b/.test(i.raw))
      problems.push(`line ${i.line}: ${i.keyword} sets JUPYTER_TOKEN (it must come from Secret Manager)`);
    if (/token=|--token\b|\.token\s*=/i.test(i.raw)) problems.push(`line ${i.line}: a token literal`);
    if (/\b[0-9a-f]{32,}\b/i.test(i.raw.replace(/@sha256:[0-9a-f]{64}/g, '')))
      problems.push(`line ${i.line}: a long hex string (a token?)`);
  }
  // CMD: exec form, starting the server script that was copied into the image.
  const cmd = [...stage].reverse().find((x) => x.keyword === 'CMD' || x.keyword === 'ENTRYPOINT');
  const script = startScript(cmd, stage, files);
  if (typeof script === 'string') problems.push(script);
  else {
    if (!/exec\s+"\$\{PYTHON:-python3\}"\s+-m\s+jupyter_server\b/.test(script.text))
      problems.push('the start script does not exec `python3 -m jupyter_server`');
    if (!/--ServerApp\.ip="\$\{JUPYTER_IP:-0\.0\.0\.0\}"/.test(script.text))
      problems.push('the start script does not bind 0.0.0.0 by default');
    if (!/--ServerApp\.port="\$\{PORT(?::-8080)?\}"/.test(script.text))
      problems.push('the start script does not listen on $PORT');
    if (/--(?:ServerApp\.|IdentityProvider\.)?token=/i.test(script.text))
      problems.push('the start script puts the token on the command line');
    if (/lab\s+build|jupyterlab/i.test(script.text + all.map((i) => i.raw).join('\n')))
      problems.push('a JupyterLab build or JupyterLab itself (slow start)');
  }
  // Server config: copied, with every file it loads from its own folder beside it, and every file
  // those load from theirs (jupyter_kernel_pool.py runs its parts from beside itself).
  const cfgCopy = stage.find(
    (x) => x.keyword === 'COPY' && x.args.slice(0, -1).includes('notebook-image/jupyter_server_config.py'),
  );
  if (!cfgCopy) problems.push('notebook-image/jupyter_server_config.py is not copied into the image');
  else {
    const beside: string[] = [];
    const pending = ['jupyter_server_config.py'];
    for (let f = pending.shift(); f !== undefined; f = pending.shift()) {
      for (const m of files(`notebook-image/${f}`).matchAll(/os\.path\.dirname\([^\n]*?"([\w.-]+\.py)"/g)) {
        if (beside.includes(m[1]!)) continue;
        beside.push(m[1]!);
        pending.push(m[1]!);
      }
    }
    for (const f of beside) {
      if (!cfgCopy.args.slice(0, -1).includes(`notebook-image/${f}`))
        problems.push(`${f}, which the server config loads from its own folder, is not copied beside it`);
    }
  }
  // Kernel config: where every kernel's IPython reads it, one of IPython's system config folders
  // (the local servers read the same file: cli/local/jupyter-server.ts KERNEL_CONFIG), with the
  // patches module it loads from its own folder.
  const sysDir = /^\/(?:usr\/local\/)?etc\/ipython\/$/;
  const kernelCfg = stage.some(
    (x) =>
      x.keyword === 'COPY' &&
      ((x.args.length === 2 &&
        x.args[0] === 'notebook-image/ipython_kernel_config.py' &&
        /^\/(?:usr\/local\/)?etc\/ipython\/(?:ipython_kernel_config\.py)?$/.test(x.args[1]!)) ||
        (x.args.slice(0, -1).includes('notebook-image/ipython_kernel_config.py') && sysDir.test(x.args.at(-1)!))),
  );
  if (!kernelCfg)
    problems.push(
      'notebook-image/ipython_kernel_config.py is not copied to /etc/ipython/ipython_kernel_config.py (where kernels read it)',
    );
  const patchesBeside = stage.some(
    (x) =>
      x.keyword === 'COPY' &&
      x.args.slice(0, -1).includes('notebook-image/nbtrigger_kernel_patches.py') &&
      sysDir.test(x.args.at(-1)!),
  );
  if (!patchesBeside)
    problems.push('notebook-image/nbtrigger_kernel_patches.py is not copied beside the kernel config (/etc/ipython/)');
  // USER: the last one is not root.
  const user = [...stage].reverse().find((x) => x.keyword === 'USER')?.args[0];
  if (user === undefined || /^(?:root|0)(?::|$)/.test(user))
    problems.push(`USER is ${user ?? 'not set'} (runs as root)`);
  // Notebooks: every manifest notebook is copied to its repo path under the server root.
  const workdir = [...stage].reverse().find((x) => x.keyword === 'WORKDIR')?.args[0] ?? '/';
  if (env.get('NBTRIGGER_ROOT_DIR') !== workdir)
    problems.push(`NBTRIGGER_ROOT_DIR (${env.get('NBTRIGGER_ROOT_DIR')}) is not the WORKDIR ${workdir}`);
  for (const nb of notebooks) {
    const hit = stage
      .filter((x) => x.keyword === 'COPY' && x.flags.from === undefined)
      .some((c) => {
        const [srcs, dest] = [c.args.slice(0, -1), c.args.at(-1)!];
        return srcs.some((s) => {
          const src = s.replace(/\/+$/, '');
          const target = posix.resolve(workdir, dest);
          // A folder's contents go into dest; a file goes into dest/ (or is renamed to dest).
          const lands =
            nb === src
              ? dest.endsWith('/')
                ? posix.join(target, posix.basename(src))
                : target
              : nb.startsWith(`${src}/`)
                ? posix.join(target, nb.slice(src.length + 1))
                : undefined;
          return lands === posix.join(workdir, nb) && c.flags.chown !== undefined;
        });
      });
    if (!hit) problems.push(`notebook ${nb} is not copied to ${posix.join(workdir, nb)} (owned by the user)`);
  }
  return problems;
}

/** `${NAME}` / `$NAME` in a FROM, from the defaults of the ARGs declared before the first FROM. */
function resolveArgs(from: string, all: Instruction[]): string {
  const args = new Map<string, string>();
  for (const i of all) {
    if (i.keyword === 'FROM') break;
    const m = i.keyword === 'ARG' ? /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(i.raw) : null;
    if (m) args.set(m[1]!, m[2]!);
  }
  const ref = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
  return from.replace(ref, (_, a?: string, b?: string) => args.get((a ?? b)!) ?? '');
}

const OPT = '/opt/nbtrigger';

/**
 * The pinned packages: versions.txt and versions.py copied to /opt/nbtrigger; one apt-get install
 * (no recommends) whose package list, its `$(awk … versions.txt)` run here on the repo's file, is
 * exactly PACKAGE=VERSION for every pin; the installed versions checked and the pip constraints
 * written in a RUN at or after it, PIP_CONSTRAINT set to them; users' packages installed only by
 * install-requirements.sh (constrained), which is copied beside versions.py.
 */
function pinProblems(stage: Instruction[], env: Map<string, string>, files: (p: string) => string): string[] {
  const problems: string[] = [];
  const copied = (src: string): boolean =>
    stage.some(
      (x) => x.keyword === 'COPY' && x.args.slice(0, -1).includes(src) && x.args.at(-1)!.replace(/\/+$/, '') === OPT,
    );
  for (const f of ['versions.txt', 'versions.py', 'install-requirements.sh', 'requirements.txt']) {
    if (!copied(`notebook-image/${f}`)) problems.push(`notebook-image/${f} is not copied to ${OPT}/`);
  }
  const runs = stage.filter((x) => x.keyword === 'RUN');
  const aptIndex = runs.findIndex((r) => /\bapt-get\s+install\b/.test(r.raw) && /versions\.txt/.test(r.raw));
  if (aptIndex < 0) return [...problems, 'no apt-get install of the packages pinned in versions.txt'];
  const apt = runs[aptIndex]!.raw;
  if (!/apt-get\s+install\s[^&|;]*--no-install-recommends/.test(apt)) {
    problems.push('the apt-get install of the pins installs recommends too');
  }
  const list = /\$\((awk\s+'[^']*'\s+)(\S*versions\.txt)\)/.exec(apt);
  if (!list || list[2] !== `${OPT}/versions.txt`) {
    problems.push(`the apt-get install does not take its packages from ${OPT}/versions.txt`);
  } else {
    const want = parsePins(files('notebook-image/versions.txt')).map((p) =>
      p.debianVersion === 'any' ? p.debianPackage : `${p.debianPackage}=${p.debianVersion}`,
    );
    const got = runAwk(list[1]!, files('notebook-image/versions.txt'));
    if (got.join(' ') !== want.join(' ')) {
      const listed = got.join(' ') || '(empty)';
      problems.push(`the apt-get install's package list is ${listed}, not the pins ${want.join(' ')}`);
    }
  }
  const after = runs
    .slice(aptIndex)
    .map((r) => r.raw)
    .join('\n');
  if (!new RegExp(`versions\\.py check ${OPT}/versions\\.txt`).test(after)) {
    problems.push('no build-time check of the installed versions (versions.py check)');
  }
  const constraints = new RegExp(`versions\\.py constraints ${OPT}/versions\\.txt > (\\S+)`).exec(after)?.[1];
  if (!constraints) problems.push('no pip constraints written from versions.txt (versions.py constraints)');
  else if (env.get('PIP_CONSTRAINT') !== constraints) {
    const set = env.get('PIP_CONSTRAINT') ?? 'not set';
    problems.push(`ENV PIP_CONSTRAINT is ${set}, not the constraints ${constraints}`);
  }
  const installs = new RegExp(`install-requirements\\.sh ${OPT}/requirements\\.txt`);
  if (!runs.some((r) => installs.test(r.raw))) {
    problems.push('requirements.txt is not installed by install-requirements.sh');
  }
  for (const r of runs) {
    if (/\bpip3?\s+install\b|-m\s+pip\s+install\b/.test(r.raw)) {
      problems.push(`line ${r.line}: pip install outside install-requirements.sh (not held to the pins)`);
    }
  }
  return problems;
}

/** Runs the Dockerfile's awk program on `text` (as the build runs it on versions.txt); its output words. */
function runAwk(command: string, text: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'nbtrigger-pins-'));
  try {
    writeFileSync(join(dir, 'versions.txt'), text);
    const r = spawnSync('/bin/sh', ['-c', `${command} versions.txt`], { cwd: dir, encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split(/\s+/).filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function startScript(
  cmd: Instruction | undefined,
  stage: Instruction[],
  files: (p: string) => string,
): { text: string } | string {
  if (!cmd) return 'no CMD/ENTRYPOINT';
  if (!cmd.json)
    return `line ${cmd.line}: ${cmd.keyword} is not in exec (JSON) form (signals would not reach the server)`;
  const target = cmd.json.find((a) => a.endsWith('.sh'));
  if (!target) return `line ${cmd.line}: ${cmd.keyword} does not run the start script`;
  const copy = stage.find(
    (x) =>
      x.keyword === 'COPY' && x.args.slice(0, -1).some((s) => posix.join(x.args.at(-1)!, posix.basename(s)) === target),
  );
  if (!copy) return `${target} is not copied into the image`;
  const src = copy.args.slice(0, -1).find((s) => posix.basename(s) === posix.basename(target))!;
  return { text: files(src) };
}

test('parser: continuations, comments inside them, exec form, flags, escape directive', () => {
  const ins = parseDockerfile(
    '# syntax=docker/dockerfile:1\nFROM --platform=linux/amd64 a:1.2 AS b\nRUN echo 1 \\\n  # a comment\n\n  && echo 2\nCOPY --chown=1:1 ["a b", "c"]\nCMD ["sh", "-c", "x"]\nENTRYPOINT exec x\n',
  );
  assert.deepEqual(
    ins.map((i) => [i.keyword, i.line]),
    [
      ['FROM', 2],
      ['RUN', 3],
      ['COPY', 7],
      ['CMD', 8],
      ['ENTRYPOINT', 9],
    ],
  );
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
  ['FROM :latest', (s) => s.replace(/^FROM \$\{DEBIAN_IMAGE\}$/m, 'FROM debian:latest'), /not pinned/],
  ['FROM without a version', (s) => s.replace(/^FROM \$\{DEBIAN_IMAGE\}$/m, 'FROM debian:bookworm-slim'), /not pinned/],
  [
    'the base ARG without a version',
    (s) => s.replace(/^ARG DEBIAN_IMAGE=.*$/m, 'ARG DEBIAN_IMAGE=debian:bookworm-slim'),
    /"debian:bookworm-slim" is not pinned/,
  ],
  [
    'not Debian bookworm',
    (s) => s.replace(/^FROM \$\{DEBIAN_IMAGE\}$/m, 'FROM python:3.12.8-slim-bookworm'),
    /not Debian bookworm/,
  ],
  [
    'the pins not installed',
    (s) => s.replace(/\$\(awk '[^']*' [^)]*\)/, 'python3-jupyter-server python3-ipykernel'),
    /not take its packages from/,
  ],
  [
    'the pins read without their versions',
    (s) => s.replace('$2 "=" $3', '$2'),
    /package list is python3\.11 python3-jupyter-server /,
  ],
  ['recommends installed', (s) => s.replace('install -y --no-install-recommends', 'install -y'), /installs recommends/],
  [
    'no version check',
    (s) => s.replace(/ && \/usr\/bin\/python3 \/opt\/nbtrigger\/versions\.py check [^&]*/, ' '),
    /no build-time check/,
  ],
  [
    'no constraints',
    (s) => s.replace(/ && \/usr\/bin\/python3 \/opt\/nbtrigger\/versions\.py constraints .*$/m, ''),
    /no pip constraints/,
  ],
  [
    'PIP_CONSTRAINT elsewhere',
    (s) => s.replace(/^ENV PIP_CONSTRAINT=.*$/m, 'ENV PIP_CONSTRAINT=/tmp/c.txt'),
    /ENV PIP_CONSTRAINT is \/tmp\/c\.txt/,
  ],
  [
    'requirements not installed',
    (s) => s.replace(/^RUN sh \/opt\/nbtrigger\/install-requirements\.sh.*$/m, ''),
    /not installed by install-requirements\.sh/,
  ],
  [
    'a bare pip install',
    (s) => s.replace(/^USER /m, 'RUN python3 -m pip install --break-system-packages tornado==6.4\nUSER '),
    /pip install outside install-requirements\.sh/,
  ],
  [
    'versions.py not copied',
    (s) => s.replace(' notebook-image/versions.py ', ' '),
    /notebook-image\/versions\.py is not copied/,
  ],
  ['no EXPOSE', (s) => s.replace(/^EXPOSE .*$/m, ''), /EXPOSE 8080/],
  ['token in ENV', (s) => s.replace(/^USER /m, 'ENV JUPYTER_TOKEN=abc\nUSER '), /sets JUPYTER_TOKEN/],
  [
    'token literal on the CMD',
    (s) => s.replace(/^CMD .*$/m, 'CMD ["/bin/sh", "/opt/nbtrigger/start-server.sh", "--IdentityProvider.token=x"]'),
    /token literal/,
  ],
  ['a hex secret', (s) => s.replace(/^USER /m, `ENV SOMETHING=${'ab12'.repeat(10)}\nUSER `), /long hex/],
  ['shell-form CMD', (s) => s.replace(/^CMD .*$/m, 'CMD /bin/sh /opt/nbtrigger/start-server.sh'), /exec \(JSON\) form/],
  [
    'CMD without the script',
    (s) => s.replace(/^CMD .*$/m, 'CMD ["python", "-m", "jupyter_server"]'),
    /does not run the start script/,
  ],
  ['script not copied', (s) => s.replace(/ notebook-image\/start-server\.sh/, ''), /not copied into the image/],
  [
    'server kernels file not copied',
    (s) => s.replace(/ notebook-image\/jupyter_server_kernels\.py/, ''),
    /jupyter_server_kernels\.py, which the server config loads/,
  ],
  [
    'kernel pool file not copied',
    (s) => s.replace(/ notebook-image\/jupyter_kernel_pool\.py/, ''),
    /jupyter_kernel_pool\.py, which the server config loads/,
  ],
  [
    'a kernel pool part not copied',
    (s) => s.replace(/ notebook-image\/jupyter_kernel_pool_kernels\.py/, ''),
    /jupyter_kernel_pool_kernels\.py, which the server config loads/,
  ],
  [
    'kernel config not copied',
    (s) => s.replace(/^COPY notebook-image\/ipython_kernel_config\.py .*$/m, ''),
    /ipython_kernel_config\.py is not copied/,
  ],
  [
    'kernel config elsewhere',
    (s) => s.replace('nbtrigger_kernel_patches.py /etc/ipython/', 'nbtrigger_kernel_patches.py /opt/nbtrigger/'),
    /ipython_kernel_config\.py is not copied/,
  ],
  [
    'kernel patches not copied',
    (s) => s.replace(' notebook-image/nbtrigger_kernel_patches.py /etc/ipython/', ' /etc/ipython/'),
    /nbtrigger_kernel_patches\.py is not copied beside/,
  ],
  ['root user', (s) => s.replace(/^USER .*$/m, 'USER root'), /runs as root/],
  ['no user', (s) => s.replace(/^USER .*$/m, ''), /USER is not set/],
  [
    'notebooks not copied',
    (s) => s.replace(/^COPY --chown=1000:1000 examples\/.*$/m, ''),
    /notebook examples\/hello\.ipynb is not copied/,
  ],
  ['notebooks copied elsewhere', (s) => s.replace(/\.\/examples\/$/m, './nb/'), /is not copied/],
  [
    'root dir not the workdir',
    (s) => s.replace(/^WORKDIR \/home\/nbtrigger\/work$/m, 'WORKDIR /srv'),
    /NBTRIGGER_ROOT_DIR/,
  ],
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
      files((s) => s.replace('-m jupyter_server', '-m notebook')),
    ).join('\n'),
    /does not exec/,
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
