/**
 * The served function (cli/local/function-server.ts) against the real functions-framework, when
 * its port is already held by another process: a socket that accepts connections and never
 * answers, as a kernel's ZeroMQ port does. Accepting a connection on the port is not the function
 * listening; only the child's own word is.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startFunctionServer } from '../../../../cli/local/function-server.js';
import { freePort } from '../../../../cli/local/jupyter-server.js';

let squatter: Server;
let taken: number;
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ALLOWED_SERVERS: '127.0.0.1:*' };

before(async () => {
  // Holds every connection open and never writes a byte.
  squatter = createServer(() => {});
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
  taken = (squatter.address() as { port: number }).port;
});
after(() => new Promise<void>((r) => squatter.close(() => r())));

test('a port another process holds: refused at start, never taken for the function', { timeout: 120_000 }, async () => {
  await assert.rejects(startFunctionServer({ env, port: taken }), (e: Error) => {
    assert.match(e.message, new RegExp(`port ${taken} is taken by another process`));
    return true;
  });
});

test('a picked port that another process got first: started again on another port', { timeout: 120_000 }, async () => {
  const picks = [taken];
  const fn = await startFunctionServer({ env, pickPort: async () => picks.shift() ?? freePort() });
  try {
    assert.notEqual(fn.port, taken);
    // functions-framework answers (a GET is not a CloudEvent); the squatter would never answer.
    const res = await request(fn.url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
    await res.body.dump();
    assert.ok(res.statusCode >= 200, `HTTP ${res.statusCode}`);
  } finally {
    await fn.stop();
  }
});
