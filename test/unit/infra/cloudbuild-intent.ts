/**
 * cloudbuild.yaml's intent as rules over the parsed build, shared by the cloudbuild tests: the steps
 * in order, a live runtime, an image tag that exists by hand and from a trigger, a dedicated build
 * account, the function allowed only the deployment's hosts, Firestore records and bucket outputs,
 * substitutions that agree with the manifest, no token.
 */
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

/** cloudbuild.yaml as the repository holds it. */
export const TEXT = readFileSync(join(PROJECT_ROOT, 'cloudbuild.yaml'), 'utf8');
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

/** Every way `text` (a cloudbuild.yaml) breaks the build's intent; [] when all is well. */
export function problems(text: string): string[] {
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
    '--build-service-account=projects/$PROJECT_ID/serviceAccounts/' +
      '${_FUNCTION_BUILD_SA}@$PROJECT_ID.iam.gserviceaccount.com',
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
    !regexOf(
      /node bin\/nbtrigger\.js deploy -f \$\{_MANIFEST\} \\\s+/,
      /--built-image \S+ \\\s+--write-allowed-servers \.allowed-servers/,
    ).test(dep)
  ) {
    out.push('nbtrigger-deploy does not deploy the manifest on the built image and write the allowed servers');
  }
  if (!dep.includes(`--built-image ${IMAGE}`)) out.push("nbtrigger-deploy does not use this build's image");
  if (
    !regexOf(
      /node infra\/function-env\.mjs --allowed-servers-file \.allowed-servers \\\s+/,
      /--bucket "\$\$\{bucket:-\$PROJECT_ID-nbtrigger-runs\}" --max-attempts \$\{_MAX_DELIVERY_ATTEMPTS\} \\\s+/,
      /--allowed-jobs "projects\/\$PROJECT_ID\/locations\/\$\{_REGION\}\/jobs\/\$\$\{deployment\}-\*" \\\s+/,
      /--allowed-sources "\$\$\{sources\}" > \.function-env\.yaml/,
    ).test(dep)
  ) {
    out.push(
      'nbtrigger-deploy does not write .function-env.yaml from the allowed servers, the bucket, ' +
        'the max attempts, the allowed jobs and the sources',
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

/** One expression from consecutive pieces (each a regex literal), for a pattern too long for one line. */
function regexOf(...pieces: RegExp[]): RegExp {
  return new RegExp(pieces.map((p) => p.source).join(''));
}
