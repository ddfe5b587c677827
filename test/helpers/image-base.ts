/**
 * Whether this machine holds the image's pinned Debian packages (notebook-image/versions.txt), read
 * with dpkg-query. The data-science base (role `base`: numpy, pandas, matplotlib, ipywidgets) is
 * installed only for CI's heavy-kernel leg (`scripts/install-test-deps.sh --heavy`; .ci/run sets
 * NBTRIGGER_HEAVY=1 for that leg's tests): a test that needs it skips without it, and fails in that leg.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { PROJECT_ROOT } from '../../cli/project-root.js';
import { parsePins, type Pin } from './image-pins.js';

/** The pins of notebook-image/versions.txt. */
export function imagePins(): Pin[] {
  return parsePins(readFileSync(join(PROJECT_ROOT, 'notebook-image', 'versions.txt'), 'utf8'));
}

/** Debian versions of `packages` on this machine (absent ones left out). */
export function dpkgVersions(packages: readonly string[]): Record<string, string> {
  const format = '-f=${Package} ${Version} ${db:Status-Status}\\n';
  const r = spawnSync('dpkg-query', ['-W', format, ...packages], { encoding: 'utf8', timeout: 20_000 });
  assert.ok(r.status === 0 || r.status === 1, `dpkg-query: ${r.stderr}`);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const [name, version, status] = line.split(' ');
    if (name && version && status === 'installed') out[name.replace(/:.*/, '')] = version;
  }
  return out;
}

/**
 * True when every pinned package is installed here. Otherwise skips `t` naming what is missing and
 * returns false, or fails when NBTRIGGER_HEAVY=1 (the leg that installs them must run the test).
 */
export function needsImagePackages(t: TestContext): boolean {
  const pins = imagePins();
  const installed = dpkgVersions(pins.map((p) => p.debianPackage));
  const missing = pins.filter((p) => installed[p.debianPackage] === undefined).map((p) => p.debianPackage);
  if (missing.length === 0) return true;
  const reason = `not installed here: ${missing.join(' ')} (scripts/install-test-deps.sh --heavy installs the base)`;
  if (process.env.NBTRIGGER_HEAVY === '1')
    assert.fail(`the image's packages are required when NBTRIGGER_HEAVY=1: ${reason}`);
  t.skip(reason);
  return false;
}
