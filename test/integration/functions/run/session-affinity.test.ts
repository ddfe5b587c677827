/**
 * Session affinity, for real: two real Jupyter servers (the same token, the same notebook) behind a
 * front that routes as Cloud Run does with session affinity (test/helpers/affinity-front.ts): a
 * request without its cookie goes to the next server in turn and is given a cookie naming it.
 * With the run's cookie jar every request of the run (the REST calls, the kernel WebSocket, the
 * kernel's deletion, the executed notebook written back, its HTML by nbconvert) reaches the server
 * that holds the kernel: the run succeeds and no kernel is left on either server. Without the jar
 * the same run fails or leaves a kernel behind (so this test can fail).
 * Spec: docs/deploy.md (session affinity); https://cloud.google.com/run/docs/configuring/session-affinity.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { finishRun } from '../../../../functions/run/finish.js';
import { runNotebook } from '../../../../functions/run/runner.js';
import { startAffinityFront, type AffinityFront } from '../../../helpers/affinity-front.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';

const TOKEN = randomBytes(24).toString('hex');
let servers: TestServer[] = [];
let front: AffinityFront;

before(async () => {
  servers = await Promise.all([startTestServer({ token: TOKEN }), startTestServer({ token: TOKEN })]);
  for (const s of servers) {
    await s.writeNotebook('nb/affinity.ipynb', ['import os\nx = 20', 'x + 1']);
    await s.writeNotebook('nb/slow.ipynb', ['x = 1', 'import time\ntime.sleep(2)\nx + 1']);
  }
  front = await startAffinityFront(servers.map((s) => s.address.port));
});
after(async () => {
  await front?.close();
  await Promise.all(servers.map((s) => s.close()));
});

/** Kernels left on each server (a deletion may still be in flight for a moment). */
async function kernelsLeft(): Promise<string[][]> {
  let left = await Promise.all(servers.map((s) => s.kernels()));
  for (let i = 0; i < 20 && left.some((k) => k.length > 0); i++) {
    await sleep(100);
    left = await Promise.all(servers.map((s) => s.kernels()));
  }
  return left;
}

const limits = { startTimeoutMs: 20_000, runTimeoutMs: 60_000, reconnectAttempts: 0 };

test("with the run's cookie jar every request reaches the server of the kernel; nothing is left on either", {
  timeout: 120_000,
}, async () => {
  front.routed.length = 0;
  const request = parseMessage(`${front.hostPort} /nb/affinity.ipynb`);
  const outcome = await runNotebook({ request, token: TOKEN, limits, deferCleanup: true });
  await outcome.cleanup;
  assert.equal(outcome.error, undefined, outcome.error?.message);
  assert.equal(outcome.record.status, 'succeeded');
  assert.deepEqual(outcome.record.lastResult, { 'text/plain': '21' });
  // The executed notebook back onto the server, and its HTML through nbconvert: the same run, the same server.
  const stored = await finishRun({
    outcome,
    request,
    runId: 'r1',
    token: TOKEN,
    output: 'server:/out/{runId}.ipynb',
    html: true,
  });
  assert.ok(stored.outputs, JSON.stringify(stored.warnings));
  const routed = front.routed;
  assert.equal(
    routed.filter((r) => !r.affine).length,
    1,
    `one first contact, then only affine requests: ${JSON.stringify(routed)}`,
  );
  const backend = routed[0]!.backend;
  assert.ok(
    routed.every((r) => r.backend === backend),
    'every request went to one server',
  );
  assert.ok(
    routed.some((r) => r.upgrade),
    'the kernel WebSocket went through the front',
  );
  assert.ok(
    routed.some((r) => r.method === 'DELETE' && r.url.startsWith('/api/kernels/')),
    'the kernel deletion went through the front',
  );
  assert.ok(
    routed.some((r) => r.method === 'PUT' && r.url.startsWith('/api/contents/out/')),
    'the write-back went through the front',
  );
  assert.deepEqual(await kernelsLeft(), [[], []]);
  // The cookie is a credential: it is in no record.
  for (const value of front.issued)
    assert.ok(!JSON.stringify(stored).includes(value), 'the cookie is not in the record');
});

test('a reconnect carries the cookie too (the channel dropped by the front, the kernel kept)', {
  timeout: 120_000,
}, async () => {
  front.routed.length = 0;
  const request = parseMessage(`${front.hostPort} /nb/slow.ipynb`);
  let cut = 0;
  const outcome = await runNotebook({
    request,
    token: TOKEN,
    limits: { ...limits, reconnectAttempts: 5 },
    onProgress: (e) => {
      if (e.type === 'start' && e.position === 2)
        setTimeout(() => {
          cut += front.cutWebSockets();
        }, 500);
    },
  });
  assert.equal(outcome.error, undefined, outcome.error?.message);
  assert.deepEqual(outcome.record.lastResult, { 'text/plain': '2' });
  assert.equal(cut, 1, 'the channel was cut once');
  assert.equal(front.routed.filter((r) => r.upgrade).length, 2, 'the channel was opened again');
  assert.equal(front.routed.filter((r) => !r.affine).length, 1, 'the reconnect carried the cookie');
  assert.deepEqual(await kernelsLeft(), [[], []]);
});

test('without a cookie jar the same run fails or leaves a kernel behind', { timeout: 120_000 }, async () => {
  front.routed.length = 0;
  const request = parseMessage(`${front.hostPort} /nb/affinity.ipynb`);
  const outcome = await runNotebook({ request, token: TOKEN, limits, cookieJar: false });
  const left = await kernelsLeft();
  const clean = outcome.record.status === 'succeeded' && left.every((k) => k.length === 0);
  assert.ok(
    !clean,
    `without affinity the run must break: ${outcome.record.status} ${outcome.error?.message ?? ''} ` +
      `left ${JSON.stringify(left)}`,
  );
  assert.ok(
    front.routed.every((r) => !r.affine),
    'no request carried the cookie',
  );
  assert.ok(new Set(front.routed.map((r) => r.backend)).size === 2, 'requests were spread over both servers');
  // Tidy up what the broken run left.
  for (const [i, ids] of left.entries()) {
    for (const id of ids) {
      await fetch(`http://${servers[i]!.hostPort}/api/kernels/${id}`, {
        method: 'DELETE',
        headers: { authorization: `token ${TOKEN}` },
      });
    }
  }
});
