/**
 * The header path of a private Cloud Run service, for real: a local plain-HTTP front end stands
 * in for Cloud Run's IAM check (it demands `X-Serverless-Authorization: Bearer <ID token>` on
 * every request and WebSocket upgrade, strips it, and passes the rest through) in front of a
 * real local Jupyter Server, which demands `Authorization: token <T>`. runNotebook given the
 * provider's headers as `extraHeaders` runs the notebook; without them the front end refuses.
 * Spec: docs/deploy.md (Security by default); https://cloud.google.com/run/docs/authenticating/service-to-service.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect } from 'node:net';
import { createIdTokenProvider, SERVERLESS_AUTHORIZATION } from '../../../../functions/auth/id-token.js';
import type { ServerAddress } from '../../../../functions/request/address.js';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { runNotebook } from '../../../../functions/run/runner.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';

interface Seen {
  method: string;
  url: string;
  upgrade: boolean;
  serverless?: string;
  authorization?: string;
}

const ID_TOKEN_HEADER = Buffer.from('{"alg":"RS256"}').toString('base64url');
const ID_TOKEN_CLAIMS = Buffer.from(JSON.stringify({ exp: 4_000_000_000 })).toString('base64url');
const ID_TOKEN = `${ID_TOKEN_HEADER}.${ID_TOKEN_CLAIMS}.sig`;
let jupyter: TestServer;
let front: Server;
let frontPort: number;
const seen: Seen[] = [];
/** Whether the invoker role has reached the front: false answers as Cloud Run does before it has. */
let granted = true;
/**
 * Cloud Run's answer to a caller without the invoker role
 * (https://cloud.google.com/run/docs/troubleshooting#unauthorized-client).
 */
const FRONT_403 =
  '<html><head><title>403 Forbidden</title></head><body><h1>Error: Forbidden</h1>' +
  '<h2>Your client does not have permission to get URL <code>/api/kernelspecs</code> from this server.</h2>' +
  '</body></html>';

/** Cloud Run's front end, reduced to the part under test. */
function startFront(upstream: number): Promise<Server> {
  const allowed = (h: IncomingHttpHeaders): boolean => h[SERVERLESS_AUTHORIZATION] === `Bearer ${ID_TOKEN}`;
  const passOn = (h: IncomingHttpHeaders): IncomingHttpHeaders => {
    const out: IncomingHttpHeaders = { ...h, host: `127.0.0.1:${upstream}` };
    delete out[SERVERLESS_AUTHORIZATION];
    return out;
  };
  const note = (method: string, url: string, upgrade: boolean, h: IncomingHttpHeaders): void => {
    seen.push({
      method,
      url,
      upgrade,
      serverless: h[SERVERLESS_AUTHORIZATION] as string | undefined,
      authorization: h.authorization,
    });
  };
  const server = createServer((req, res) => {
    note(req.method!, req.url!, false, req.headers);
    if (!allowed(req.headers)) {
      res
        .writeHead(401, { 'content-type': 'text/plain' })
        .end('Your client does not have permission (no valid X-Serverless-Authorization)');
      return;
    }
    if (!granted) {
      res.writeHead(403, { 'content-type': 'text/html; charset=UTF-8', server: 'Google Frontend' }).end(FRONT_403);
      return;
    }
    const up = httpRequest(
      { host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: passOn(req.headers) },
      (r) => {
        res.writeHead(r.statusCode!, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (req, socket, head) => {
    note(req.method!, req.url!, true, req.headers);
    if (!allowed(req.headers)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const up = connect(upstream, '127.0.0.1', () => {
      const h = passOn(req.headers);
      const lines = Object.entries(h).flatMap(([k, v]) =>
        Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${v}`],
      );
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      up.write(head);
      up.pipe(socket).pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(server)));
}

before(async () => {
  jupyter = await startTestServer();
  await jupyter.writeNotebook('private/hello.ipynb', ['x = 20', 'x + 1']);
  front = await startFront(jupyter.address.port);
  frontPort = (front.address() as { port: number }).port;
});
after(async () => {
  front?.closeAllConnections();
  await new Promise((r) => front?.close(r));
  await jupyter?.close();
});

const BOTH_CREDENTIALS =
  "with the provider's headers as extraHeaders, both credentials reach the service on every request " +
  'and the run succeeds';
test(BOTH_CREDENTIALS, { timeout: 60_000 }, async () => {
  seen.length = 0;
  const server: ServerAddress = { host: '127.0.0.1', port: frontPort, secure: false };
  const audiences: string[] = [];
  const provider = createIdTokenProvider({
    env: { NBTRIGGER_ID_TOKEN: 'always' },
    allowHttp: true,
    fetch: async (aud) => {
      audiences.push(aud);
      return ID_TOKEN;
    },
  });
  const extraHeaders = await provider.headersFor(server);
  const request = parseMessage(`127.0.0.1:${frontPort} /private/hello.ipynb`);
  const { record, error } = await runNotebook({
    request,
    token: jupyter.token,
    extraHeaders,
    limits: { startTimeoutMs: 10_000, runTimeoutMs: 30_000 },
  });
  assert.equal(error, undefined, error?.message);
  assert.equal(record.status, 'succeeded');
  assert.deepEqual(record.lastResult, { 'text/plain': '21' });
  assert.deepEqual(audiences, [`http://127.0.0.1:${frontPort}`]);
  assert.ok(
    seen.some((s) => s.upgrade && /\/api\/kernels\/[^/]+\/channels/.test(s.url)),
    'the kernel WebSocket went through the front end',
  );
  assert.ok(seen.some((s) => s.method === 'POST' && s.url === '/api/kernels'));
  for (const s of seen) {
    assert.equal(s.serverless, `Bearer ${ID_TOKEN}`, `${s.method} ${s.url}: X-Serverless-Authorization`);
    assert.equal(
      s.authorization,
      `token ${jupyter.token}`,
      `${s.method} ${s.url}: Authorization stays the Jupyter token`,
    );
  }
  assert.ok(!JSON.stringify(record).includes(ID_TOKEN), 'the ID token is not in the record');
  assert.deepEqual(await jupyter.kernels(), []);
});

test('without the ID token the front end refuses and the run fails as refused, not as a notebook error', {
  timeout: 60_000,
}, async () => {
  seen.length = 0;
  const request = parseMessage(`127.0.0.1:${frontPort} /private/hello.ipynb`);
  const { record, error } = await runNotebook({
    request,
    token: jupyter.token,
    limits: { startTimeoutMs: 5_000, runTimeoutMs: 15_000 },
  });
  assert.equal(record.status, 'error');
  assert.ok(error, 'the run must fail');
  assert.equal(error.code, 'AUTH_REFUSED', error.message);
  assert.ok(seen.length > 0 && seen.every((s) => s.serverless === undefined));
  assert.ok(!seen.some((s) => s.upgrade), 'no kernel channel was opened');
});

test('a 403 from the front to a caller with an ID token (the invoker role still ' +
  'propagating) is AUTH_REFUSED but retryable; once granted the run succeeds', {
  timeout: 60_000,
}, async () => {
  const server: ServerAddress = { host: '127.0.0.1', port: frontPort, secure: false };
  const provider = createIdTokenProvider({
    env: { NBTRIGGER_ID_TOKEN: 'always' },
    allowHttp: true,
    fetch: async () => ID_TOKEN,
  });
  const extraHeaders = await provider.headersFor(server);
  const request = parseMessage(`127.0.0.1:${frontPort} /private/hello.ipynb`);
  granted = false;
  try {
    const refused = await runNotebook({
      request,
      token: jupyter.token,
      extraHeaders,
      limits: { startTimeoutMs: 5_000, runTimeoutMs: 15_000 },
    });
    assert.equal(refused.error?.code, 'AUTH_REFUSED', refused.error?.message);
    assert.equal(refused.error?.retryable, true, 'redelivered within the retry window, not acked as permanent');
    assert.match(refused.error!.message, /propagating/);
  } finally {
    granted = true;
  }
  const ok = await runNotebook({
    request,
    token: jupyter.token,
    extraHeaders,
    limits: { startTimeoutMs: 10_000, runTimeoutMs: 30_000 },
  });
  assert.equal(ok.record.status, 'succeeded', ok.error?.message);
  // Jupyter's own 403 (a wrong token) behind the same front stays permanent.
  const wrong = await runNotebook({
    request,
    token: 'not-the-token',
    extraHeaders,
    limits: { startTimeoutMs: 5_000, runTimeoutMs: 15_000 },
  });
  assert.equal(wrong.error?.code, 'AUTH_REFUSED', wrong.error?.message);
  assert.equal(wrong.error?.retryable, false);
  assert.deepEqual(await jupyter.kernels(), []);
});
