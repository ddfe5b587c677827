/** The command's entry: --version reads package.json; help and unknown commands exit as documented. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../../cli/main.js';
import { PROJECT_ROOT } from '../../../cli/project-root.js';

/** Runs `main` with stdout and stderr captured. */
async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => err.push(s) > 0) as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}

test('--version prints the version package.json declares', async () => {
  const pkg = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.deepEqual(await capture(['--version']), { code: 0, out: `nbtrigger ${pkg.version}\n`, err: '' });
});

test('help exits 0, no command exits 2, an unknown command exits 2 naming it', async () => {
  assert.equal((await capture(['help'])).code, 0);
  assert.equal((await capture([])).code, 2);
  const unknown = await capture(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command "frobnicate"/);
});
