/**
 * scripts/test-failures.mjs, the reporter that repeats the failed tests once a run ends: run under
 * node's real test runner on small test files (a failing assertion inside a suite, an error at the top
 * level, a file that throws while loading, a passing file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../cli/project-root.js';

const REPORTER = join(PROJECT_ROOT, 'scripts/test-failures.mjs');

const FILES: Record<string, string> = {
  'suite.test.mjs': `import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
describe('a suite', () => {
  test('passes', () => {});
  test('adds wrong', () => assert.equal(1 + 1, 3, 'the sum is wrong'));
});
test('throws at the top', async () => { throw new Error('boom at the top'); });
`,
  'crash.test.mjs': `console.error('loading the crash file');\nthrow new Error('crash while loading');\n`,
  'fine.test.mjs': `import { test } from 'node:test';\ntest('fine', () => {});\n`,
};

/** This process's environment without the marks of a running test (the child would refuse to run files). */
function childEnv(): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _context, NODE_OPTIONS: _options, ...env } = process.env;
  return env;
}

/** Runs the given files with TAP on stdout and the reporter on stderr, as scripts/test.sh does. */
function run(names: string[]): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nbtrigger-reporter-'));
  try {
    for (const name of names) writeFileSync(join(dir, name), FILES[name]!);
    const res = spawnSync(
      process.execPath,
      [
        '--test',
        '--test-reporter=tap',
        '--test-reporter-destination=stdout',
        `--test-reporter=${REPORTER}`,
        '--test-reporter-destination=stderr',
        ...names.map((n) => join(dir, n)),
      ],
      { encoding: 'utf8', timeout: 60_000, env: childEnv() },
    );
    return { status: res.status, stdout: res.stdout, stderr: res.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the failed tests are listed after the run, each with its file and error; the suite is not', () => {
  const res = run(['suite.test.mjs', 'crash.test.mjs', 'fine.test.mjs']);
  assert.equal(res.status, 1);
  assert.match(res.stdout, /^TAP version/m, 'the TAP stream stays on stdout');
  const summary = res.stderr;
  assert.match(summary, /# 3 failed tests/);
  assert.match(summary, /✖ adds wrong\n {2}file: .*suite\.test\.mjs\n/);
  assert.match(summary, /the sum is wrong/);
  assert.match(summary, /✖ throws at the top\n[\s\S]*boom at the top/);
  assert.match(summary, /suite\.test\.mjs:5:\d+/, 'the failing line is named');
  assert.doesNotMatch(summary, /✖ a suite\n/, 'a suite failing by its test is not listed again');
  assert.doesNotMatch(summary, /✖ (passes|fine)\n/);
  const start = summary.indexOf('✖ adds wrong');
  const end = summary.indexOf('\n✖ ', start + 1);
  const block = summary.slice(start, end === -1 ? undefined : end);
  assert.match(block, /the sum is wrong/);
  assert.doesNotMatch(block, /node:internal/, "the runner's own frames are dropped");
  // A file that failed outside any test: what it wrote to stderr says why.
  assert.match(summary, /✖ .*crash\.test\.mjs\n[\s\S]*its stderr \(tail\):[\s\S]*crash while loading/);
  assert.ok(summary.indexOf('loading the crash file') < summary.indexOf('crash while loading'));
});

test('a run with no failure prints nothing', () => {
  const res = run(['fine.test.mjs']);
  assert.equal(res.status, 0);
  assert.equal(res.stderr, '');
  assert.match(res.stdout, /# pass 1/);
});

test('the test command and the fault suite both run the reporter', () => {
  const testSh = readFileSync(join(PROJECT_ROOT, 'scripts/test.sh'), 'utf8');
  assert.match(testSh, /--test-reporter="\$PWD\/scripts\/test-failures\.mjs"/);
  assert.match(testSh, /--test-reporter=tap --test-reporter-destination=stdout/);
  const faults = readFileSync(join(PROJECT_ROOT, 'test/faults/run.ts'), 'utf8');
  assert.match(faults, /'scripts', 'test-failures\.mjs'/);
});
