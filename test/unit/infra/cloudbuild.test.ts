/**
 * cloudbuild.yaml's intent (no Cloud Build here; gcloud's own parser checks its gcloud steps in
 * test/integration/infra/): the rules of cloudbuild-intent.ts hold for the repository's file, and
 * every rule is also run against a broken copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { problems, TEXT } from './cloudbuild-intent.js';

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
    (s) => s.replace(/ {6}- "--build-service-account=[^"]*"\n/, ''),
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
