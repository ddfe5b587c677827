/**
 * Faults before the first cell, through the served function (functions-framework child process
 * posting Pub/Sub CloudEvents), so each asserts the ack/retry decision the platform sees
 * (204 = ack, 500 = retry): a server answering 503 for its first seconds (a Cloud Run cold
 * start), a server that never comes up, a wrong token, a notebook that is missing or not JSON,
 * and a message aimed at the metadata server (refused, no connection made).
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../cli/local/jupyter-server.js';
import { createHandler } from '../../functions/handler.js';
import type { RunRecord } from '../../functions/run/record.js';
import {
  binaryEvent,
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
} from '../helpers/functions-framework.js';
import { startTestServer, type TestServer } from '../helpers/jupyter.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { recordRow, T } from './common.js';

let server: TestServer;
let ff: FunctionServer;
let ffWrongToken: FunctionServer;
let proxy: TcpProxy;

before(async () => {
  server = await startTestServer();
  [ff, ffWrongToken, proxy] = await Promise.all([
    startFunctionServer({ env: { JUPYTER_TOKEN: server.token } }),
    startFunctionServer({ env: { JUPYTER_TOKEN: 'not-the-token-1234' } }),
    startTcpProxy(server.address),
  ]);
});
after(async () => {
  await Promise.all([ff?.stop(), ffWrongToken?.stop(), proxy?.close()]);
  await server?.close();
});

interface Delivery {
  status: number;
  final: FinalLine;
  seconds: number;
  left: number;
}

/** Posts one message to the function and waits for its final log line. */
async function deliver(fn: FunctionServer, text: string): Promise<Delivery> {
  const req = binaryEvent({ text });
  const t0 = Date.now();
  const res = await fn.post(req);
  const seconds = (Date.now() - t0) / 1000;
  const final = (await fn.waitForLine((l) => l.eventId === req.id && isFinal(l), 60_000)) as FinalLine;
  return { status: res.status, final, seconds, left: (await server.kernels()).length };
}

function observedOf(d: Delivery): string {
  const e = d.final.record.error;
  return `${e ? e.code : d.final.record.status} (${d.final.ack ? 'ack' : 'retry'}, HTTP ${d.status})`;
}

/** The common checks: decision, code, bound, no kernel; then the table row. */
function check(
  fault: string,
  d: Delivery,
  want: { code?: string; ack: boolean; maxSeconds: number; minSeconds?: number },
): void {
  assert.equal(d.final.record.error?.code, want.code, JSON.stringify(d.final.record));
  if (!want.code) assert.equal(d.final.record.status, 'succeeded');
  assert.equal(d.final.ack, want.ack);
  assert.equal(d.status, want.ack ? 204 : 500, 'functions-framework answers 204 to a return, 500 to a throw');
  assert.ok(d.seconds < want.maxSeconds && d.seconds >= (want.minSeconds ?? 0), `${d.seconds} s`);
  assert.equal(d.left, 0, 'no kernel left');
  recordRow({
    fault,
    expected: `${want.code ?? 'succeeded'} (${want.ack ? 'ack' : 'retry'})`,
    observed: observedOf(d),
    seconds: d.seconds,
    kernelsLeft: d.left,
  });
}

describe('fault: the server is not (yet) there', () => {
  test(
    '503 for the first 3 s (cold start behind a front end): retried with backoff, then the run succeeds',
    T,
    async () => {
      const nb = await server.writeNotebook('cold.ipynb', ['1 + 1']);
      const before = proxy.accepted;
      proxy.unavailableUntil(Date.now() + 3000);
      const d = await deliver(
        ff,
        JSON.stringify({ server: proxy.hostPort, notebook: `/${nb}`, timeouts: { startSeconds: 30 } }),
      );
      assert.ok(
        proxy.accepted - before >= 3,
        `several attempts met the 503 front (${proxy.accepted - before} connections)`,
      );
      assert.deepEqual(d.final.record.lastResult, { 'text/plain': '2' });
      check('server answers 503 for its first 3 s', d, { ack: true, minSeconds: 2.9, maxSeconds: 30 });
    },
  );

  test(
    'a server that never comes up (connection refused): SERVER_UNREACHABLE at the start timeout, retry',
    T,
    async () => {
      const port = await freePort();
      const d = await deliver(
        ff,
        JSON.stringify({ server: `127.0.0.1:${port}`, notebook: '/x.ipynb', timeouts: { startSeconds: 2 } }),
      );
      assert.equal(d.final.record.error?.retryable, true);
      check('server never comes up (refused)', d, {
        code: 'SERVER_UNREACHABLE',
        ack: false,
        minSeconds: 1.9,
        maxSeconds: 10,
      });
    },
  );

  test('a front end that answers 503 for ever: SERVER_UNREACHABLE at the start timeout, retry', T, async () => {
    const dead = await startTcpProxy({ host: '127.0.0.1', port: 9 });
    try {
      dead.unavailableUntil(Infinity);
      const d = await deliver(
        ff,
        JSON.stringify({ server: dead.hostPort, notebook: '/x.ipynb', timeouts: { startSeconds: 2 } }),
      );
      assert.match(d.final.record.error!.message, /503/);
      check('server never comes up (503 for ever)', d, {
        code: 'SERVER_UNREACHABLE',
        ack: false,
        minSeconds: 1.9,
        maxSeconds: 10,
      });
    } finally {
      await dead.close();
    }
  });
});

describe('fault: permanent problems are acknowledged at once', () => {
  test('a wrong token: AUTH_REFUSED, ack, the token never echoed', T, async () => {
    const nb = await server.writeNotebook('auth.ipynb', ['1']);
    const d = await deliver(ffWrongToken, `${server.hostPort} /${nb}`);
    assert.ok(
      !ffWrongToken.stdout().includes('not-the-token-1234') && !ffWrongToken.stderr().includes('not-the-token-1234'),
    );
    check('wrong token', d, { code: 'AUTH_REFUSED', ack: true, maxSeconds: 10 });
  });

  test('a notebook that is missing: NOTEBOOK_NOT_FOUND, ack', T, async () => {
    const d = await deliver(ff, `${server.hostPort} /no/such/notebook.ipynb`);
    check('notebook missing', d, { code: 'NOTEBOOK_NOT_FOUND', ack: true, maxSeconds: 10 });
  });

  test('a notebook that is not JSON: BAD_NOTEBOOK, ack, no kernel started', T, async () => {
    const nb = await server.writeFile('broken.ipynb', '{"cells": [ this is not json');
    const d = await deliver(ff, `${server.hostPort} /${nb}`);
    check('notebook not JSON', d, { code: 'BAD_NOTEBOOK', ack: true, maxSeconds: 10 });
  });
});

describe('fault: a message aimed at the metadata server', () => {
  test('served function: SERVER_NOT_ALLOWED, ack, at once', T, async () => {
    const d = await deliver(ff, '169.254.169.254:80 /computeMetadata/v1/token.ipynb');
    check('message aimed at 169.254.169.254 (function)', d, { code: 'SERVER_NOT_ALLOWED', ack: true, maxSeconds: 5 });
  });

  test('in-process handler with ALLOWED_SERVERS=*: refused before any connection (no socket opened)', T, async () => {
    let sockets = 0;
    const count = (): void => {
      sockets++;
    };
    subscribe('net.client.socket', count);
    subscribe('undici:client:beforeConnect', count);
    const records: RunRecord[] = [];
    const t0 = Date.now();
    try {
      const handler = createHandler({
        env: { JUPYTER_TOKEN: 'secret-token-x', ALLOWED_SERVERS: '*' },
        write: () => undefined,
        onRecord: (r) => records.push(r),
      });
      for (const text of [
        '169.254.169.254 /x.ipynb',
        '169.254.169.254:80 /x.ipynb --use-https',
        JSON.stringify({ server: 'http://169.254.169.254:80', notebook: '/x.ipynb' }),
        'metadata.google.internal /x.ipynb',
        '[::ffff:169.254.169.254]:80 /x.ipynb',
      ]) {
        const data = { message: { data: Buffer.from(text).toString('base64'), messageId: `m-${records.length}` } };
        await handler({ id: 'e', data });
      }
    } finally {
      unsubscribe('net.client.socket', count);
      unsubscribe('undici:client:beforeConnect', count);
    }
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(records.length, 5);
    for (const r of records) assert.equal(r.error?.code, 'SERVER_NOT_ALLOWED', JSON.stringify(r));
    assert.equal(sockets, 0, 'no connection was attempted');
    assert.ok(seconds < 5, `${seconds} s`);
    const allRefused = records.map((r) => r.error?.code).every((c) => c === 'SERVER_NOT_ALLOWED');
    recordRow({
      fault: 'message aimed at 169.254.169.254 (5 forms, in-process)',
      expected: 'SERVER_NOT_ALLOWED (ack), 0 sockets',
      observed: `${allRefused ? 'SERVER_NOT_ALLOWED' : 'other'} (ack), ${sockets} sockets`,
      seconds,
      kernelsLeft: 'n/a',
    });
  });
});
