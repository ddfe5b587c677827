/** Failure webhook against a local HTTP receiver: body, content type, timeout, errors, no secret leaks. */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { NotifyRecord } from '../../../../functions/notify/message.js';
import { notifyRun } from '../../../../functions/notify/notify-run.js';
import { postWebhook } from '../../../../functions/notify/webhook.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const record: NotifyRecord = {
  status: 'failed',
  notebook: 'daily.ipynb',
  server: 'http://127.0.0.1:8888',
  kernelName: 'python3',
  startedAt: '2026-01-21T23:49:30.123Z',
  durationMs: 2100,
  runId: 'r-7',
  cells: { total: 2, executed: 2, succeeded: 1, failed: 1, aborted: 0, skipped: 0 },
  warnings: [],
  error: { code: 'CELL_ERROR', message: 'x', retryable: false, cellIndex: 1, ename: 'KeyError', evalue: "'k'" },
};

describe('webhook notifications (local receiver)', () => {
  let server: Server;
  let base: string;
  const received: Received[] = [];
  let mode: 'ok' | 'fail' | 'hang' = 'ok';

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req
        .setEncoding('utf8')
        .on('data', (d: string) => {
          body += d;
        })
        .on('end', () => {
          received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
          if (mode === 'hang') return; // never answers
          if (mode === 'fail') {
            res.writeHead(500, { 'content-type': 'text/plain' }).end('invalid_token for /services/T1/B2/SECRET');
            return;
          }
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );

  it('posts Slack-compatible JSON for a failed run', async () => {
    mode = 'ok';
    const results = await notifyRun(record, { webhook: `${base}/services/T1/B2/SECRET` });
    assert.deepEqual(results, [{ channel: 'webhook', target: `${base}/…`, ok: true }]);
    const r = received.at(-1)!;
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/services/T1/B2/SECRET');
    assert.equal(r.headers['content-type'], 'application/json');
    const body = JSON.parse(r.body) as { text: string };
    assert.deepEqual(Object.keys(body), ['text']);
    assert.match(body.text, /^nbtrigger: daily\.ipynb failed after 2\.1 s\ncell 1: KeyError: 'k'\nrun r-7/);
  });

  it('a refusal is a result that names no secret', async () => {
    mode = 'fail';
    const r = await postWebhook(`${base}/services/T1/B2/SECRET`, { text: 'x' });
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /^HTTP 500/);
    assert.doesNotMatch(JSON.stringify(r), /SECRET|T1\/B2/);
  });

  it('a receiver that never answers is cut at the timeout', async () => {
    mode = 'hang';
    const t0 = Date.now();
    const r = await postWebhook(`${base}/hook`, { text: 'x' }, { timeoutMs: 400 });
    const took = Date.now() - t0;
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /no answer within 400 ms/);
    assert.ok(took >= 350 && took < 3000, `took ${took} ms`);
  });

  it('an unreachable or invalid URL is a result, not an exception', async () => {
    const port = (server.address() as AddressInfo).port;
    const dead = await postWebhook(
      `http://127.0.0.1:${port + 0}/x`.replace(String(port), '1'),
      { text: 'x' },
      { timeoutMs: 2000 },
    );
    assert.equal(dead.ok, false);
    assert.match(dead.error ?? '', /ECONNREFUSED|connect/i);
    const bad = await postWebhook('ftp://example.invalid/x', { text: 'x' });
    assert.deepEqual([bad.ok, bad.error], [false, 'unsupported scheme ftp:']);
    const junk = await postWebhook('not a url', { text: 'x' });
    assert.equal(junk.ok, false);
  });
});
