/**
 * The private Jupyter server (cli/local/jupyter-server.ts) against the real jupyter_server: its log
 * tail is what a failure report shows, so it must hold the server's own lines and never its token.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startLocalJupyter } from '../../../../cli/local/jupyter-server.js';

test("the log tail holds the server's lines, bounded, its token redacted; stop ends the process", {
  timeout: 120_000,
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'nbtrigger-local-jupyter-'));
  const token = `tok${'x'.repeat(40)}`;
  const server = await startLocalJupyter({ rootDir: root, token, logTailChars: 600 });
  try {
    const tail = server.logTail();
    assert.match(tail, /Jupyter Server|ServerApp/, tail);
    assert.ok(tail.length <= 600, `${tail.length} characters kept`);
    assert.equal(tail.includes(token), false, 'the token is redacted');
    assert.equal(tail.includes(token.slice(0, 12)), false, 'no cut of the token either');
  } finally {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
  assert.notEqual(server.child.exitCode ?? server.child.signalCode, null, 'the server process ended');
});
