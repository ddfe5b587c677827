/**
 * Atomic replacement: the target is the old file or the new one, never a part; no temporary file
 * is left beside it, on success or on failure.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { replaceAtomically, tempPathBeside, writeFileAtomic } from '../../../functions/atomic-write.js';

test('writeFileAtomic replaces the file and leaves nothing beside it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nbt-atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'record.json');
  await writeFile(path, 'old');
  await writeFileAtomic(path, 'new');
  assert.equal(await readFile(path, 'utf8'), 'new');
  assert.deepEqual(await readdir(dir), ['record.json']);
});

test('a write that fails keeps the old file and removes its temporary file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nbt-atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'out.ipynb');
  await writeFile(path, 'old');
  let tmp = '';
  await assert.rejects(
    replaceAtomically(path, async (p) => {
      tmp = p;
      await writeFile(p, 'half');
      throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.ok(tmp.startsWith(join(dir, '.out.ipynb.')), tmp);
  assert.equal(await readFile(path, 'utf8'), 'old');
  assert.deepEqual(await readdir(dir), ['out.ipynb']);
});

test('temporary paths are hidden, beside the target, and distinct', () => {
  const a = tempPathBeside('/x/y/z.json');
  const b = tempPathBeside('/x/y/z.json');
  assert.match(a, /^\/x\/y\/\.z\.json\.\d+\.[0-9a-f]{12}\.tmp$/);
  assert.notEqual(a, b);
});
