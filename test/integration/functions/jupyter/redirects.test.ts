/**
 * Redirects are never followed: a REST answer of 3xx pointing at another host is an error and no
 * request reaches that host; a 3xx answer to the kernel WebSocket upgrade is an error; the webhook
 * does not follow one either. Real sockets on loopback: a server that redirects everything, and a
 * trap where the redirects point that counts connections.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { isNbtError } from '../../../../functions/errors.js';
import { KernelChannel } from '../../../../functions/jupyter/channel.js';
import { JupyterRest } from '../../../../functions/jupyter/rest.js';
import { postWebhook } from '../../../../functions/notify/webhook.js';
import { guardFromEnv } from '../../../../functions/security/guard.js';

describe('redirects are not followed', () => {
  let trap: Server;
  let trapPort = 0;
  let connections = 0;
  let redirector: HttpServer;
  let port = 0;
  let requests = 0;

  before(async () => {
    trap = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen({ port: 0, host: '::', ipv6Only: false }, r));
    trapPort = (trap.address() as { port: number }).port;
    const answer = (status: number): string =>
      `HTTP/1.1 ${status} Found\r\nLocation: http://localhost:${trapPort}/api/kernelspecs\r\nContent-Length: 0\r\n\r\n`;
    redirector = createHttpServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(302, { location: `http://localhost:${trapPort}${req.url}` }).end();
    });
    // The upgrade is answered with a redirect too (ws would follow it if asked to).
    redirector.on('upgrade', (_req, socket) => {
      requests++;
      socket.end(answer(302));
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    port = (redirector.address() as { port: number }).port;
  });
  after(() => {
    trap.close();
    redirector.close();
  });

  const server = () => ({ host: '127.0.0.1', port, secure: false });
  const connector = () => guardFromEnv({ ALLOWED_SERVERS: `127.0.0.1:${port}` }).connectorFor(server());

  test('REST: a 302 to another host is an error, through the guard and without it', async () => {
    for (const c of [connector(), undefined]) {
      const rest = new JupyterRest({ server: server(), token: 'tok-redirect', ...(c ? { connector: c } : {}) });
      try {
        await assert.rejects(
          rest.kernelspecs(),
          (e: unknown) => isNbtError(e) && e.code === 'REQUEST_REJECTED' && /HTTP 302/.test(e.message),
        );
        const out = await rest.send('POST', '/nbconvert/html', { body: '{}' });
        assert.equal(out.status, 302);
      } finally {
        await rest.close();
      }
    }
    assert.ok(requests >= 4);
    assert.equal(connections, 0, 'nothing reached the redirect target');
  });

  test('WebSocket: a 3xx answer to the upgrade is an error', async () => {
    for (const c of [connector(), undefined]) {
      await assert.rejects(
        KernelChannel.connect({
          server: server(),
          kernelId: 'k',
          sessionId: 's',
          headers: { authorization: 'token tok' },
          connectTimeoutMs: 5000,
          ...(c ? { connector: c } : {}),
        }),
        (e: unknown) => isNbtError(e) && /upgrade refused: HTTP 302/.test(e.message),
      );
    }
    assert.equal(connections, 0);
  });

  test('webhook: a 302 is a failed notification, not followed', async () => {
    const r = await postWebhook(`http://127.0.0.1:${port}/hook`, { text: 'x' }, { timeoutMs: 5000 });
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /HTTP 302/);
    assert.equal(connections, 0);
  });
});
