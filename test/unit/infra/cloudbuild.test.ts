/**
 * cloudbuild.yaml's intent (no Cloud Build here; gcloud's own parser checks its gcloud steps in
 * test/integration/infra/): the steps in order, a live runtime, an image tag that exists by hand
 * and from a trigger, a dedicated build account, the function allowed only the deployment's hosts,
 * Firestore records and bucket outputs, substitutions that agree with the manifest, no token.
 * Every rule is also run against a broken copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { parseManifest } from '../../../deploy/manifest.js';
import { runViolations, violationText } from '../../../deploy/rules.js';

interface Step {
  id?: string;
  name: string;
  entrypoint?: string;
  args?: string[];
  env?: string[];
}
interface Build {
  steps: Step[];
  substitutions: Record<string, string>;
  images?: string[];
  serviceAccount?: string;
  options?: { logging?: string };
}

const TEXT = readFileSync(join(PROJECT_ROOT, 'cloudbuild.yaml'), 'utf8');
const MANIFEST = parseManifest(
  readFileSync(join(PROJECT_ROOT, 'infra/nbtrigger.yaml'), 'utf8'),
  'infra/nbtrigger.yaml',
);
const ORDER = [
  'install',
  'build',
  'unit-tests',
  'build-image',
  'push-image',
  'stage-function',
  'nbtrigger-deploy',
  'deploy-function',
  'function-invoker',
  'dead-letter',
];
/** The trigger subscription's max delivery attempts: the manifest's, or deploy's default (5). */
function maxDeliveryAttempts(): number {
  const m = MANIFEST as unknown as { maxDeliveryAttempts?: number; function: { maxDeliveryAttempts?: number } };
  return m.function.maxDeliveryAttempts ?? m.maxDeliveryAttempts ?? 5;
}
const IMAGE = '${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/${_IMAGE}:$BUILD_ID';
/** Set by Cloud Build for trigger builds only: empty in `gcloud builds submit`. */
const TRIGGER_ONLY = /\$\{?(SHORT_SHA|COMMIT_SHA|REVISION_ID|BRANCH_NAME|TAG_NAME|REPO_NAME)\b/;

function problems(text: string): string[] {
  const out: string[] = [];
  const b = parse(text) as Build;
  const ids = b.steps.map((s) => s.id ?? '?');
  if (JSON.stringify(ids) !== JSON.stringify(ORDER))
    out.push(`steps are ${ids.join(' → ')}, expected ${ORDER.join(' → ')}`);
  const step = (id: string): Step => b.steps.find((s) => s.id === id) ?? { name: '', args: [] };
  const argv = (id: string): string => [step(id).entrypoint ?? '', ...(step(id).args ?? [])].join(' ');
  const dep = argv('nbtrigger-deploy');
  const sub = b.substitutions ?? {};
  if (!/^npm ci\b/.test(argv('install'))) out.push('install does not run npm ci');
  if (!/npm run build/.test(argv('build'))) out.push('build does not run npm run build');
  if (
    !/node --test .*dist\/test\/unit|find dist\/test\/unit -name '\*\.test\.js'[\s\S]*node --test/.test(
      argv('unit-tests'),
    )
  )
    out.push('unit-tests does not run the unit tests');
  const buildArgs = step('build-image').args ?? [];
  if (!buildArgs.includes('--file=notebook-image/Dockerfile') || buildArgs.at(-1) !== '.')
    out.push('build-image does not build notebook-image/Dockerfile from the repository root');
  if (!buildArgs.includes(`--tag=${IMAGE}`))
    out.push('build-image does not tag the Artifact Registry image with $BUILD_ID');
  // The tag exists in every build: no trigger-only substitution in any image reference.
  const refs = [
    ...buildArgs.filter((a) => a.startsWith('--tag=')),
    ...(step('push-image').args ?? []),
    ...(b.images ?? []),
    dep,
    argv('dead-letter'),
  ];
  for (const r of refs) if (TRIGGER_ONLY.test(r)) out.push(`an image reference is empty in a hand-run build: ${r}`);
  if (JSON.stringify(step('push-image').args) !== JSON.stringify(['push', IMAGE]))
    out.push('push-image does not push the built tag');
  if (JSON.stringify(b.images) !== JSON.stringify([IMAGE])) out.push('images does not list the built tag');
  // The function: a runtime that can still be deployed (Node.js 20 is decommissioned), its accounts, its environment.
  const fn = step('deploy-function').args ?? [];
  const runtime = /^--runtime=nodejs(\d+)$/.exec(fn.find((a) => a.startsWith('--runtime=')) ?? '');
  if (!runtime || Number(runtime[1]) < 22)
    out.push(
      `deploy-function runtime is ${fn.find((a) => a.startsWith('--runtime=')) ?? 'unset'}, expected nodejs22 or later`,
    );
  const want = [
    'functions',
    'deploy',
    '${_FUNCTION}',
    '--gen2',
    '--entry-point=runNotebook',
    '--trigger-topic=${_TOPIC}',
    '--set-secrets=JUPYTER_TOKEN=${_TOKEN_SECRET}:latest',
    '--service-account=${_FUNCTION_SA}@$PROJECT_ID.iam.gserviceaccount.com',
    '--trigger-service-account=${_FUNCTION_SA}@$PROJECT_ID.iam.gserviceaccount.com',
    '--source=.function-source',
    '--build-service-account=projects/$PROJECT_ID/serviceAccounts/${_FUNCTION_BUILD_SA}@$PROJECT_ID.iam.gserviceaccount.com',
    '--env-vars-file=.function-env.yaml',
    '--timeout=540s',
    '--retry',
  ];
  for (const w of want) if (!fn.includes(w)) out.push(`deploy-function lacks ${w}`);
  // The function's instance is a Cloud Run service: its CPU, memory and concurrency obey the same
  // documented rules (deploy/rules.ts), with request-based billing (functions idle their CPU).
  const flag = (name: string): string | undefined => fn.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const concurrency = Number(flag('concurrency') ?? 1);
  const resources = {
    cpu: flag('cpu') ?? '',
    memory: flag('memory') ?? '',
    concurrency,
    timeoutSeconds: 540,
    cpuIdle: true,
  };
  if (!flag('cpu') || !flag('memory'))
    out.push('deploy-function does not set --cpu and --memory (its concurrency depends on them)');
  else for (const v of runViolations(resources)) out.push(`deploy-function: ${violationText(v)}`);
  if (concurrency < 2)
    out.push(
      'deploy-function takes one message per instance (--concurrency): runs mostly wait, an instance carries several',
    );
  if (fn.some((a) => /^--(set|update)-env-vars=/.test(a)))
    out.push('deploy-function sets env vars besides .function-env.yaml');
  if (/run\.app/.test(text.replace(/#.*$/gm, '')))
    out.push("a run.app pattern in the build: the function must allow exactly the deployment's hosts");
  if (
    !/node bin\/nbtrigger\.js deploy -f \$\{_MANIFEST\} \\\s+--built-image \S+ \\\s+--write-allowed-servers \.allowed-servers/.test(
      dep,
    )
  ) {
    out.push('nbtrigger-deploy does not deploy the manifest on the built image and write the allowed servers');
  }
  if (!dep.includes(`--built-image ${IMAGE}`)) out.push("nbtrigger-deploy does not use this build's image");
  if (
    !/node infra\/function-env\.mjs --allowed-servers-file \.allowed-servers \\\s+--bucket "\$\$\{bucket:-\$PROJECT_ID-nbtrigger-runs\}" --max-attempts \$\{_MAX_DELIVERY_ATTEMPTS\} \\\s+--allowed-jobs "projects\/\$PROJECT_ID\/locations\/\$\{_REGION\}\/jobs\/\$\$\{deployment\}-\*" \\\s+--allowed-sources "\$\$\{sources\}" > \.function-env\.yaml/.test(
      dep,
    )
  ) {
    out.push(
      'nbtrigger-deploy does not write .function-env.yaml from the allowed servers, the bucket, the max attempts, the allowed jobs and the sources',
    );
  }
  if (
    !/sources="\$\$\(node infra\/manifest-facts\.mjs \$\{_MANIFEST\} \| sed -n 's\/\^SOURCE_PREFIXES=\/\/p'\)"/.test(
      dep,
    )
  ) {
    out.push('nbtrigger-deploy does not read the sources from the manifest (manifest-facts SOURCE_PREFIXES)');
  }
  if (!/cp -r dist\/functions \.function-source\/dist\/functions/.test(argv('stage-function')))
    out.push('stage-function does not stage the compiled function');
  if (!argv('dead-letter').includes(`node bin/nbtrigger.js deploy -f \${_MANIFEST} \\\n  --built-image ${IMAGE}`))
    out.push('dead-letter does not deploy again after the function (its trigger subscription)');
  // The build runs as its own account; such a build must log to Cloud Logging (or its own bucket).
  if (b.serviceAccount !== 'projects/$PROJECT_ID/serviceAccounts/${_BUILD_SA}@$PROJECT_ID.iam.gserviceaccount.com')
    out.push(`serviceAccount is ${b.serviceAccount}`);
  if (b.options?.logging !== 'CLOUD_LOGGING_ONLY')
    out.push('options.logging is not CLOUD_LOGGING_ONLY (required with a user-specified account)');
  // Steps that run our code run on Node 22 (a pinned version).
  for (const id of ['install', 'build', 'unit-tests', 'stage-function', 'nbtrigger-deploy', 'dead-letter']) {
    if (!/^node:22\.\d+\.\d+-bookworm-slim$/.test(step(id).name))
      out.push(`step ${id} runs ${step(id).name}, expected a pinned node:22`);
  }
  // The substitutions agree with the manifest.
  const agree: Array<[string, string]> = [
    ['_TOPIC', MANIFEST.topic],
    ['_TOKEN_SECRET', MANIFEST.tokenSecret],
    ['_FUNCTION', MANIFEST.function.name],
    ['_REGION', MANIFEST.region],
    ['_FUNCTION_SA', MANIFEST.function.serviceAccount.split('@')[0]!],
    ['_MANIFEST', 'infra/nbtrigger.yaml'],
    ['_MAX_DELIVERY_ATTEMPTS', String(maxDeliveryAttempts())],
    ['_BUILD_SA', 'nbtrigger-build'],
    ['_FUNCTION_BUILD_SA', 'nbtrigger-function-build'],
  ];
  for (const [k, v] of agree)
    if (sub[k] !== v) out.push(`substitution ${k}=${sub[k]} differs from the manifest (${v})`);
  // No token: JUPYTER_TOKEN only ever as a secret reference; nothing that looks like a secret.
  for (const m of text.matchAll(/JUPYTER_TOKEN\s*[=:]\s*([^\s,'"]*)/g))
    if (m[1] !== '${_TOKEN_SECRET}:latest') out.push(`JUPYTER_TOKEN given a value: ${m[0]}`);
  if (/\b[0-9a-f]{32,}\b|[?&]token=/i.test(text)) out.push('a token-like literal');
  return out;
}

test('cloudbuild.yaml: order, key arguments, substitutions, no token', () => {
  assert.deepEqual(problems(TEXT), []);
});

const IMG = '${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/${_IMAGE}';
const broken: Array<[string, (s: string) => string, RegExp]> = [
  [
    'deploy before the tests',
    (s) =>
      s
        .replace(/ {2}# 3\. Unit tests[\s\S]*?(?= {2}# 4\.)/, '')
        .replace('  # 10. The trigger', `  - id: unit-tests\n    name: node\n    args: []\n\n  # 10. The trigger`),
    /steps are/,
  ],
  [
    'function before the services',
    (s) =>
      s
        .replace(/ {2}# 7\. The manifest[\s\S]*?(?= {2}# 8\.)/, '')
        .replace('  # 9. Eventarc', `  - id: nbtrigger-deploy\n    name: node\n    args: []\n\n  # 9. Eventarc`),
    /steps are/,
  ],
  [
    'no unit tests',
    (s) => s.replace('node --test --test-concurrency=4', 'echo skipped'),
    /does not run the unit tests/,
  ],
  [
    'a decommissioned runtime',
    (s) => s.replace('--runtime=nodejs22', '--runtime=nodejs20'),
    /runtime is --runtime=nodejs20/,
  ],
  [
    'concurrency on a fractional CPU',
    (s) => s.replace('--cpu=1\n', '--cpu=0.5\n'),
    /below 1 CPU, maximum concurrency must be 1/,
  ],
  ['more memory than one CPU allows', (s) => s.replace('--memory=1Gi', '--memory=8Gi'), /memory 8Gi with cpu 1/],
  ['concurrency beyond 1000', (s) => s.replace('--concurrency=8', '--concurrency=1001'), /concurrency 1001/],
  ['one message per instance', (s) => s.replace('      - --concurrency=8\n', ''), /takes one message per instance/],
  ['no CPU set', (s) => s.replace('      - --cpu=1\n', ''), /does not set --cpu and --memory/],
  [
    'image tagged $SHORT_SHA (empty by hand)',
    (s) => s.replaceAll(`${IMG}:$BUILD_ID`, `${IMG}:$SHORT_SHA`),
    /empty in a hand-run build/,
  ],
  [
    'image tagged ${COMMIT_SHA} in images',
    (s) => s.replace(`images:\n  - ${IMG}:$BUILD_ID`, `images:\n  - ${IMG}:\${COMMIT_SHA}`),
    /empty in a hand-run build|images does not list/,
  ],
  [
    'pushes another tag',
    (s) => s.replace(`args: [push, '${IMG}:$BUILD_ID']`, 'args: [push, gcr.io/x/y]'),
    /push-image/,
  ],
  ['gen1 function', (s) => s.replace('      - --gen2\n', ''), /lacks --gen2/],
  ['the legacy build account', (s) => s.replace(/^serviceAccount: .*\n/m, ''), /serviceAccount is undefined/],
  [
    'a user account without its logging option',
    (s) => s.replace('  logging: CLOUD_LOGGING_ONLY\n', '  machineType: E2_MEDIUM\n'),
    /options\.logging/,
  ],
  [
    'the function build on the default account',
    (s) => s.replace(/ {6}- --build-service-account=.*\n/, ''),
    /lacks --build-service-account/,
  ],
  [
    'token as an env var',
    (s) => s.replace('--set-secrets=JUPYTER_TOKEN=${_TOKEN_SECRET}:latest', '--set-env-vars=JUPYTER_TOKEN=abc'),
    /set-secrets|JUPYTER_TOKEN given a value|besides/,
  ],
  [
    'any run.app service allowed',
    (s) =>
      s.replace(
        '      - --env-vars-file=.function-env.yaml\n',
        '      - --env-vars-file=.function-env.yaml\n      - --update-env-vars=ALLOWED_SERVERS=*.run.app\n',
      ),
    /run\.app pattern|besides/,
  ],
  [
    'no function environment (no Firestore, no bucket, no allowlist)',
    (s) => s.replace('      - --env-vars-file=.function-env.yaml\n', ''),
    /lacks --env-vars-file/,
  ],
  [
    'the environment without the bucket',
    (s) => s.replace('--bucket "$${bucket:-$PROJECT_ID-nbtrigger-runs}" ', ''),
    /function-env\.yaml/,
  ],
  ['every job allowed', (s) => s.replace('/jobs/$${deployment}-*"', '/jobs/*"'), /allowed jobs/],
  [
    'allowed servers not written',
    (s) => s.replace(' \\\n          --write-allowed-servers .allowed-servers', ''),
    /write the allowed servers/,
  ],
  [
    'the manifest deployed on a fixed tag',
    (s) =>
      s.replace(
        `--built-image ${IMG}:$BUILD_ID \\\n          --write`,
        `--built-image ${IMG}:latest \\\n          --write`,
      ),
    /this build's image/,
  ],
  ['no dead-letter pass', (s) => s.replace(/ {2}# 10\. The trigger[\s\S]*?(?=images:)/, ''), /steps are|dead-letter/],
  ['topic differs from the manifest', (s) => s.replace('_TOPIC: t_nbtrigger', '_TOPIC: other'), /_TOPIC=other differs/],
  [
    'max attempts differ from the manifest',
    (s) => s.replace("_MAX_DELIVERY_ATTEMPTS: '5'", "_MAX_DELIVERY_ATTEMPTS: '7'"),
    /_MAX_DELIVERY_ATTEMPTS=7 differs/,
  ],
  [
    'code on Node 20',
    (s) => s.replace(/(- id: build\n {4}name: )node:22\.\d+\.\d+-bookworm-slim/, '$1node:20.18.1-bookworm-slim'),
    /step build runs node:20/,
  ],
  ['a token literal', (s) => s.replace('timeout: 1800s', `timeout: 1800s\n# ${'0a1b'.repeat(10)}`), /token-like/],
];
for (const [name, mutate, why] of broken) {
  test(`a broken cloudbuild.yaml is caught: ${name}`, () => {
    const text = mutate(TEXT);
    assert.notEqual(text, TEXT, 'the mutation must change the file');
    assert.match(problems(text).join('\n'), why);
  });
}
