/**
 * The notebook image's intent as rules over the parsed Dockerfile (test/helpers/dockerfile.ts), shared
 * by the Dockerfile tests: a pinned Debian bookworm base; the pinned packages (the apt-get step's own
 * package list, its awk over versions.txt run here, installs every pin at its version, the build
 * checks the installed versions, and pip runs only under constraints from the pins); the port; no
 * token; the start script in exec form; the server and kernel configs with the files they load; a
 * user other than root; every manifest notebook under the server root. See notebook-image/README.md.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { finalStage, parseDockerfile, type Instruction } from '../../helpers/dockerfile.js';
import { parsePins } from '../../helpers/image-pins.js';

/** A file of the repository, by its repo path. */
export const read = (p: string): string => readFileSync(join(PROJECT_ROOT, p), 'utf8');
export const DOCKERFILE = read('notebook-image/Dockerfile');
/** The example manifest's notebooks (repo paths), each of which the image must hold. */
export const notebooks = parseManifest(read('infra/nbtrigger.yaml'), 'infra/nbtrigger.yaml').notebooks.map(
  (n) => n.file,
);

/** Every problem with the image's intent; [] when all is well. `files` reads COPY sources from the repo. */
export function intentProblems(text: string, files: (p: string) => string = read): string[] {
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
    // It execs server_main.py, copied beside it, which runs jupyter_server in its own process.
    if (!/exec\s+"\$\{PYTHON:-python3\}"\s+"\$here\/server_main\.py"/.test(script.text))
      problems.push('the start script does not exec server_main.py beside it');
    else if (!script.copy.args.slice(0, -1).includes('notebook-image/server_main.py'))
      problems.push('server_main.py, which the start script runs, is not copied beside it');
    else if (!/from jupyter_server\.serverapp import launch_new_instance/.test(files('notebook-image/server_main.py')))
      problems.push('server_main.py does not run jupyter_server');
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
      'notebook-image/ipython_kernel_config.py is not copied to ' +
        '/etc/ipython/ipython_kernel_config.py (where kernels read it)',
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
): { text: string; copy: Instruction } | string {
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
  return { text: files(src), copy };
}
