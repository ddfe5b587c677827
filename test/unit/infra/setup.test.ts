/**
 * infra/setup.sh's own interface: `--help` prints the script's header comment (what it does, how it
 * is called) and nothing of its code; an unknown argument is refused with exit 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../../cli/project-root.js';

const SETUP = join(PROJECT_ROOT, 'infra', 'setup.sh');

test('--help prints the whole header comment, without its # marks, and no line of code', () => {
  const r = spawnSync('bash', [SETUP, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const header = readFileSync(SETUP, 'utf8').split('\n').slice(1);
  const comment = header.slice(
    0,
    header.findIndex((l) => !l.startsWith('#')),
  );
  assert.ok(comment.length > 5, 'the script has a header comment');
  assert.deepEqual(
    r.stdout.trimEnd().split('\n'),
    comment.map((l) => l.replace(/^# ?/, '')),
  );
  assert.doesNotMatch(r.stdout, /set -euo pipefail/);
});

test('an unknown argument: exit 2, naming it', () => {
  const r = spawnSync('bash', [SETUP, '--no-such-flag'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown argument --no-such-flag/);
});
