/**
 * SSRF guard in the served function: messages aimed at the metadata server, at hosts that are
 * not allowlisted, or at names that resolve to private addresses through a wildcard are refused
 * as permanent errors (204, SERVER_NOT_ALLOWED) before any connection is made: a TCP listener
 * standing where the message points counts zero connections.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { binaryEvent, isFinal, startFunctionServer, type FinalLine, type FunctionServer } from '../../helpers/functions-framework.js';

describe('SSRF guard of the served function', { timeout: 120_000 }, () => {
  let trap: Server;
  let trapPort = 0;
  let connections = 0;
  let wildcard: FunctionServer;
  let exact: FunctionServer;

  before(async () => {
    trap = createServer((s) => { connections++; s.destroy(); });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    trapPort = (trap.address() as { port: number }).port;
    [wildcard, exact] = await Promise.all([
      startFunctionServer({ env: { JUPYTER_TOKEN: 'secret-token-ssrf', ALLOWED_SERVERS: '*' } }),
      startFunctionServer({ env: { JUPYTER_TOKEN: 'secret-token-ssrf', ALLOWED_SERVERS: 'nb.example.com:443' } }),
    ]);
  });
  after(async () => {
    await Promise.all([wildcard?.stop(), exact?.stop()]);
    trap?.close();
  });

  async function refused(ff: FunctionServer, text: string): Promise<FinalLine> {
    const req = binaryEvent({ text });
    const t0 = Date.now();
    const res = await ff.post(req);
    assert.equal(res.status, 204, `refusal is permanent (ack) for ${text}`);
    const final = (await ff.waitForLine((l) => l.eventId === req.id && isFinal(l), 10_000)) as FinalLine;
    assert.equal(final.record.error?.code, 'SERVER_NOT_ALLOWED', JSON.stringify(final.record));
    assert.equal(final.record.error?.retryable, false);
    assert.ok(Date.now() - t0 < 5000, 'refused at once, not after a start timeout');
    return final;
  }

  test('the metadata server, by address and by name, even with ALLOWED_SERVERS=*', async () => {
    assert.match((await refused(wildcard, '169.254.169.254:80 /computeMetadata/v1.ipynb')).record.error!.message, /metadata/);
    assert.match((await refused(wildcard, 'metadata.google.internal:80 /x.ipynb')).record.error!.message, /metadata/);
    await refused(wildcard, JSON.stringify({ server: 'http://169.254.169.254', notebook: '/x.ipynb' }));
  });

  test('a private IP literal or a name resolving to loopback, via a wildcard: refused, no connection', async () => {
    await refused(wildcard, `127.0.0.1:${trapPort} /x.ipynb`);
    const viaName = await refused(wildcard, `localhost:${trapPort} /x.ipynb`);
    assert.match(viaName.record.error!.message, /resolves to .* private address/);
    assert.equal(connections, 0, 'no TCP connection reached the target');
  });

  test('a host that is not on the allowlist', async () => {
    const final = await refused(exact, `localhost:${trapPort} /x.ipynb`);
    assert.match(final.record.error!.message, /not in ALLOWED_SERVERS/);
    await refused(exact, 'nb.example.com:8443 /x.ipynb --use-https');
    assert.equal(connections, 0);
  });
});
