/**
 * The notebook image's CLI stage, checked on paper (test/helpers/dockerfile.ts): Node 22 or newer
 * on Debian bookworm (the final stage's glibc), pinned by digest; the CLI bundle built by
 * scripts/bundle-cli.mjs; the final stage copies node, the bundle and the production packages it
 * loads from that stage, and puts `nbtrigger` on the PATH, the command of a Cloud Run job
 * (deploy/desired-runjobs.ts JOB_COMMAND). Every rule is also run against a broken copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { JOB_COMMAND } from '../../../deploy/desired-runjobs.js';
import { finalStage, parseDockerfile, type Instruction } from '../../helpers/dockerfile.js';

const DOCKERFILE = readFileSync(join(PROJECT_ROOT, 'notebook-image/Dockerfile'), 'utf8');
const BUNDLE = 'dist/bundle/nbtrigger.cjs';
const LOCAL_SERVER = readFileSync(join(PROJECT_ROOT, 'cli/local/jupyter-server.ts'), 'utf8');

/** The default of an ARG declared before the first FROM. */
function argDefault(all: Instruction[], name: string): string | undefined {
  for (const i of all) {
    if (i.keyword === 'FROM') return undefined;
    const m = i.keyword === 'ARG' ? new RegExp(`^${name}=(\\S+)$`).exec(i.raw) : null;
    if (m) return m[1];
  }
  return undefined;
}

function cliStageProblems(text: string): string[] {
  const problems: string[] = [];
  const all = parseDockerfile(text);
  const froms = all.filter((x) => x.keyword === 'FROM');
  const cli = froms.find((f) => f.args[1]?.toUpperCase() === 'AS' && f.args[2] === 'nbtrigger-cli');
  if (!cli) return ['no build stage named nbtrigger-cli'];
  const ref = cli.args[0]!.replace(/^\$\{?([A-Za-z_]+)\}?$/, (_, a: string) => argDefault(all, a) ?? '');
  const m = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)\.\d+\.\d+-bookworm(?:-slim)?@sha256:[0-9a-f]{64}$/.exec(ref);
  if (!m) problems.push(`the CLI stage's base "${ref}" is not node:X.Y.Z-bookworm[-slim] pinned by digest`);
  else if (Number(m[1]) < 22) problems.push(`the CLI stage runs Node ${m[1]}; the image needs Node 22 or newer`);
  const start = all.indexOf(cli);
  const stage = all.slice(start + 1, all.indexOf(froms[froms.indexOf(cli) + 1] ?? all[all.length - 1]!));
  if (!stage.some((x) => x.keyword === 'RUN' && /node scripts\/bundle-cli\.mjs/.test(x.raw)))
    problems.push(`the CLI stage does not build ${BUNDLE}`);
  if (!stage.some((x) => x.keyword === 'RUN' && /npm ci\b/.test(x.raw)))
    problems.push('the CLI stage does not install the locked packages (npm ci)');
  const last = finalStage(all);
  const from = (src: string): Instruction | undefined =>
    last.find(
      (x) => x.keyword === 'COPY' && x.flags.from === 'nbtrigger-cli' && x.args[0]?.replace(/\/+$/, '') === src,
    );
  if (!from('/usr/local/bin/node')) problems.push('the final stage does not copy node from the CLI stage');
  const bundle = from('/src/dist/bundle');
  const modules = from('/src/node_modules');
  if (!bundle) problems.push('the final stage does not copy the CLI bundle');
  if (!modules) problems.push('the final stage does not copy the packages the bundle loads');
  if (
    bundle &&
    modules &&
    bundle.args[1]!.replace(/dist\/bundle\/?$/, '') !== modules.args[1]!.replace(/node_modules\/?$/, '')
  ) {
    problems.push(
      'the bundle and its node_modules are not in the same folder (the bundle would not find its packages)',
    );
  }
  const wrapper = last.find((x) => x.keyword === 'RUN' && x.raw.includes(`> /usr/local/bin/${JOB_COMMAND[0]}`));
  if (!wrapper) problems.push(`\`${JOB_COMMAND[0]}\` is not on the PATH (/usr/local/bin/${JOB_COMMAND[0]})`);
  else if (!/chmod 0?755 \/usr\/local\/bin\/nbtrigger/.test(wrapper.raw) || !wrapper.raw.includes(`/${BUNDLE}`)) {
    problems.push(`/usr/local/bin/${JOB_COMMAND[0]} does not run ${BUNDLE} or is not executable`);
  }
  // The local server's configs, read from PROJECT_ROOT/notebook-image/ (the CLI's package.json folder).
  if (
    !last.some((x) => x.keyword === 'RUN' && x.raw.includes('ln -s /opt/nbtrigger /opt/nbtrigger/cli/notebook-image'))
  ) {
    problems.push(
      "the CLI's notebook-image/ folder (/opt/nbtrigger/cli/notebook-image) is not linked to /opt/nbtrigger",
    );
  }
  const named = [...LOCAL_SERVER.matchAll(/join\(PROJECT_ROOT, 'notebook-image', '([\w.-]+)'\)/g)].map((x) => x[1]!);
  for (const f of named) {
    const copied = last.some(
      (x) =>
        x.keyword === 'COPY' &&
        x.flags.from === undefined &&
        x.args.slice(0, -1).includes(`notebook-image/${f}`) &&
        x.args.at(-1)!.replace(/\/+$/, '') === '/opt/nbtrigger',
    );
    if (!copied)
      problems.push(`notebook-image/${f}, which the CLI's local server reads, is not copied to /opt/nbtrigger/`);
  }
  return problems;
}

test('the CLI stage meets every rule', () => {
  assert.deepEqual(cliStageProblems(DOCKERFILE), []);
});

const broken: Array<[string, (s: string) => string, RegExp]> = [
  ['no CLI stage', (s) => s.replace(' AS nbtrigger-cli', ''), /no build stage/],
  ['Node 20', (s) => s.replace(/node:22\.\d+\.\d+/, 'node:20.18.1'), /Node 20/],
  ['Node by tag only', (s) => s.replace(/@sha256:[0-9a-f]{64}/, ''), /pinned by digest/],
  ['Node on alpine', (s) => s.replace(/-bookworm-slim@/, '-alpine@'), /pinned by digest/],
  ['no bundle built', (s) => s.replace(' && node scripts/bundle-cli.mjs', ''), /does not build/],
  ['node not copied', (s) => s.replace(/^COPY --from=nbtrigger-cli \/usr\/local\/bin\/node .*$/m, ''), /copy node/],
  [
    'bundle not copied',
    (s) => s.replace(/^COPY --from=nbtrigger-cli \/src\/dist\/bundle\/ .*$/m, ''),
    /copy the CLI bundle/,
  ],
  [
    'packages elsewhere',
    (s) => s.replace('/opt/nbtrigger/cli/node_modules/', '/opt/other/node_modules/'),
    /same folder/,
  ],
  ['no nbtrigger on the PATH', (s) => s.replace('> /usr/local/bin/nbtrigger', '> /tmp/nbtrigger'), /not on the PATH/],
  [
    'configs not linked',
    (s) => s.replace(' && ln -s /opt/nbtrigger /opt/nbtrigger/cli/notebook-image \\\n', ' \\\n'),
    /not linked/,
  ],
  [
    'kernel config not beside the others',
    (s) =>
      s.replace(
        ' notebook-image/ipython_kernel_config.py notebook-image/nbtrigger_kernel_patches.py /opt/nbtrigger/',
        ' notebook-image/nbtrigger_kernel_patches.py /opt/nbtrigger/',
      ),
    /ipython_kernel_config\.py, which the CLI's local server reads/,
  ],
  [
    'kernel patches not beside the others',
    (s) =>
      s.replace(
        ' notebook-image/ipython_kernel_config.py notebook-image/nbtrigger_kernel_patches.py /opt/nbtrigger/',
        ' notebook-image/ipython_kernel_config.py /opt/nbtrigger/',
      ),
    /nbtrigger_kernel_patches\.py, which the CLI's local server reads/,
  ],
  ['wrapper not executable', (s) => s.replace('chmod 0755 /usr/local/bin/nbtrigger', 'true'), /not executable/],
];
for (const [name, mutate, why] of broken) {
  test(`a broken CLI stage is caught: ${name}`, () => {
    const text = mutate(DOCKERFILE);
    assert.notEqual(text, DOCKERFILE, 'the mutation must change the file');
    assert.match(cliStageProblems(text).join('\n'), why);
  });
}
