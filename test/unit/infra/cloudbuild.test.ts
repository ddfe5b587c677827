/**
 * cloudbuild.yaml, checked on paper (no Cloud Build here): the steps run in order (install,
 * build, unit tests, image build, push, function deploy, nbtrigger deploy), with the key
 * arguments, substitutions that agree with the manifest, and no token anywhere. Every rule is
 * also run against a broken copy. infra/pin-images.mjs is run for real.
 * Spec: issue 4 ("Image and build").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../../cli/jupyter-server.js';
import { parseManifest } from '../../../deploy/manifest.js';

interface Step { id?: string; name: string; entrypoint?: string; args?: string[]; env?: string[] }
interface Build { steps: Step[]; substitutions: Record<string, string>; images?: string[] }

const TEXT = readFileSync(join(PROJECT_ROOT, 'cloudbuild.yaml'), 'utf8');
const MANIFEST = parseManifest(readFileSync(join(PROJECT_ROOT, 'infra/nbtrigger.yaml'), 'utf8'), 'infra/nbtrigger.yaml');
const ORDER = ['install', 'build', 'unit-tests', 'build-image', 'push-image', 'stage-function', 'deploy-function', 'function-invoker', 'nbtrigger-deploy'];
const IMAGE = '${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/${_IMAGE}:$SHORT_SHA';

function problems(text: string): string[] {
  const out: string[] = [];
  const b = parse(text) as Build;
  const ids = b.steps.map((s) => s.id ?? '?');
  if (JSON.stringify(ids) !== JSON.stringify(ORDER)) out.push(`steps are ${ids.join(' → ')}, expected ${ORDER.join(' → ')}`);
  const step = (id: string): Step => b.steps.find((s) => s.id === id) ?? { name: '', args: [] };
  const argv = (id: string): string => [step(id).entrypoint ?? '', ...(step(id).args ?? [])].join(' ');
  const sub = b.substitutions ?? {};
  if (!/^npm ci\b/.test(argv('install'))) out.push('install does not run npm ci');
  if (!/npm run build/.test(argv('build'))) out.push('build does not run npm run build');
  if (!/node --test .*dist\/test\/unit|find dist\/test\/unit -name '\*\.test\.js'[\s\S]*node --test/.test(argv('unit-tests'))) out.push('unit-tests does not run the unit tests');
  const buildArgs = step('build-image').args ?? [];
  if (!buildArgs.includes('--file=notebook-image/Dockerfile') || buildArgs.at(-1) !== '.') out.push('build-image does not build notebook-image/Dockerfile from the repository root');
  if (!buildArgs.includes(`--tag=${IMAGE}`)) out.push('build-image does not tag the Artifact Registry image with $SHORT_SHA');
  if (JSON.stringify(step('push-image').args) !== JSON.stringify(['push', IMAGE])) out.push('push-image does not push the built tag');
  const fn = step('deploy-function').args ?? [];
  const want = ['functions', 'deploy', '${_FUNCTION}', '--gen2', '--runtime=nodejs20', '--entry-point=runNotebook', '--trigger-topic=${_TOPIC}',
    '--set-secrets=JUPYTER_TOKEN=${_TOKEN_SECRET}:latest', '--service-account=${_FUNCTION_SA}@$PROJECT_ID.iam.gserviceaccount.com', '--source=.function-source'];
  for (const w of want) if (!fn.includes(w)) out.push(`deploy-function lacks ${w}`);
  const envVars = fn.find((a) => a.startsWith('--set-env-vars='))?.slice('--set-env-vars='.length).split(',') ?? [];
  if (!envVars.includes('ALLOWED_SERVERS=${_ALLOWED_SERVERS}') || !envVars.includes('NODE_ENV=production')) out.push('deploy-function does not set ALLOWED_SERVERS and NODE_ENV=production');
  if (!envVars.includes('ALLOWED_OUTPUTS=${_ALLOWED_OUTPUTS}')) out.push('deploy-function does not set ALLOWED_OUTPUTS (the schedules\' gs:// outputs)');
  if (!/cp -r dist\/functions \.function-source\/dist\/functions/.test(argv('stage-function'))) out.push('stage-function does not stage the compiled function');
  const dep = argv('nbtrigger-deploy');
  if (!dep.includes(`node infra/pin-images.mjs \${_MANIFEST} ${IMAGE} > .nbtrigger-deploy.yaml`) || !/node bin\/nbtrigger\.js deploy -f \.nbtrigger-deploy\.yaml/.test(dep)) out.push('nbtrigger-deploy does not deploy the manifest pinned to this build\'s image');
  // The substitutions agree with the manifest.
  const agree: Array<[string, string]> = [['_TOPIC', MANIFEST.topic], ['_TOKEN_SECRET', MANIFEST.tokenSecret], ['_FUNCTION', MANIFEST.function.name],
    ['_REGION', MANIFEST.region], ['_FUNCTION_SA', MANIFEST.function.serviceAccount.split('@')[0]!], ['_MANIFEST', 'infra/nbtrigger.yaml']];
  for (const [k, v] of agree) if (sub[k] !== v) out.push(`substitution ${k}=${sub[k]} differs from the manifest (${v})`);
  // No token: JUPYTER_TOKEN only ever as a secret reference; nothing that looks like a secret.
  for (const m of text.matchAll(/JUPYTER_TOKEN\s*[=:]\s*([^\s,'"]*)/g)) if (m[1] !== '${_TOKEN_SECRET}:latest') out.push(`JUPYTER_TOKEN given a value: ${m[0]}`);
  if (/\b[0-9a-f]{32,}\b|[?&]token=/i.test(text)) out.push('a token-like literal');
  return out;
}

test('cloudbuild.yaml: order, key arguments, substitutions, no token', () => {
  assert.deepEqual(problems(TEXT), []);
});

const broken: Array<[string, (s: string) => string, RegExp]> = [
  ['deploy before the tests', (s) => s.replace(/  # 3\. Unit tests[\s\S]*?(?=  # 4\.)/, '').replace('  # 8. The manifest', `  - id: unit-tests\n    name: node\n    args: []\n\n  # 8. The manifest`), /steps are/],
  ['no unit tests', (s) => s.replace("node --test --test-concurrency=4", 'echo skipped'), /does not run the unit tests/],
  ['image without $SHORT_SHA', (s) => s.replace('--tag=${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/${_IMAGE}:$SHORT_SHA', '--tag=${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/${_IMAGE}:latest'), /\$SHORT_SHA/],
  ['pushes another tag', (s) => s.replace("args: [push, '${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/${_IMAGE}:$SHORT_SHA']", 'args: [push, gcr.io/x/y]'), /push-image/],
  ['gen1 function', (s) => s.replace('      - --gen2\n', ''), /lacks --gen2/],
  ['token as an env var', (s) => s.replace('--set-secrets=JUPYTER_TOKEN=${_TOKEN_SECRET}:latest', '--set-env-vars=JUPYTER_TOKEN=abc'), /set-secrets|JUPYTER_TOKEN given a value/],
  ['no SSRF allowlist', (s) => s.replace('ALLOWED_SERVERS=${_ALLOWED_SERVERS},', ''), /ALLOWED_SERVERS/],
  ['no output allowlist', (s) => s.replace('ALLOWED_OUTPUTS=${_ALLOWED_OUTPUTS},', ''), /ALLOWED_OUTPUTS/],
  ['topic differs from the manifest', (s) => s.replace('_TOPIC: t_nbtrigger', '_TOPIC: other'), /_TOPIC=other differs/],
  ['deploys the unpinned manifest', (s) => s.replace('node bin/nbtrigger.js deploy -f .nbtrigger-deploy.yaml', 'node bin/nbtrigger.js deploy -f ${_MANIFEST}'), /pinned/],
  ['a token literal', (s) => s.replace('timeout: 1800s', `timeout: 1800s\n# ${'0a1b'.repeat(10)}`), /token-like/],
];
for (const [name, mutate, why] of broken) {
  test(`a broken cloudbuild.yaml is caught: ${name}`, () => {
    const text = mutate(TEXT);
    assert.notEqual(text, TEXT, 'the mutation must change the file');
    assert.match(problems(text).join('\n'), why);
  });
}

test('infra/pin-images.mjs pins every built service to the image and leaves a valid manifest', () => {
  const image = 'europe-west1-docker.pkg.dev/my-project/nbtrigger/notebook:abc1234';
  const out = execFileSync(process.execPath, [join(PROJECT_ROOT, 'infra/pin-images.mjs'), join(PROJECT_ROOT, 'infra/nbtrigger.yaml'), image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const m = parseManifest(out, 'pinned.yaml');
  assert.deepEqual(m.notebooks.map((n) => n.service.image), MANIFEST.notebooks.map(() => image));
  assert.deepEqual(m.notebooks.map((n) => n.schedules.length), MANIFEST.notebooks.map((n) => n.schedules.length));
  const bad = spawnSync(process.execPath, [join(PROJECT_ROOT, 'infra/pin-images.mjs'), join(PROJECT_ROOT, 'infra/nbtrigger.yaml'), 'notebook'], { encoding: 'utf8' });
  assert.equal(bad.status, 2, 'an image without a tag is refused');
});
