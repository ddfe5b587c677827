/** The bench's second Node: which binary, its major version, and when there is none. */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { NODE22, otherNode } from '../../../bench/other-node.js';

let dir: string;
/** A stand-in `node` that prints `version` for `--version`. */
async function fakeNode(name: string, version: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\necho '${version}'\n`);
  await chmod(path, 0o755);
  return path;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nbtrigger-other-node-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('BENCH_OTHER_NODE names the binary; its major version gives the tag', async () => {
  const path = await fakeNode('node99', 'v99.1.0');
  assert.deepEqual(otherNode({ BENCH_OTHER_NODE: path }), { path, major: '99', tag: ' Node 99' });
});

test("no second Node: BENCH_OTHER_NODE=none, or a binary of the bench's own major version", () => {
  assert.equal(otherNode({ BENCH_OTHER_NODE: 'none' }), undefined);
  assert.equal(otherNode({ BENCH_OTHER_NODE: process.execPath }), undefined);
});

test('a binary that is missing or prints no version fails, naming it', async () => {
  const missing = join(dir, 'no-such-node');
  assert.throws(() => otherNode({ BENCH_OTHER_NODE: missing }), /no-such-node/);
  const odd = await fakeNode('odd-node', 'hello');
  assert.throws(() => otherNode({ BENCH_OTHER_NODE: odd }), /odd-node printed "hello", no version/);
});

test("without BENCH_OTHER_NODE: scripts/with-node22.sh's Node 22 when it is installed", () => {
  const found = otherNode({});
  const own = process.versions.node.split('.')[0];
  if (!existsSync(NODE22) || own === '22') assert.equal(found, undefined);
  else assert.deepEqual(found, { path: NODE22, major: '22', tag: ' Node 22' });
});
