/**
 * SSRF guard in the served function: messages aimed at the metadata server, at hosts that are
 * not allowlisted, or at names that resolve to private addresses through a wildcard are refused
 * as permanent errors (204, SERVER_NOT_ALLOWED) before any connection is made: a TCP listener
 * standing where the message points counts zero connections.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  binaryEvent,
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
} from '../../helpers/functions-framework.js';

describe('SSRF guard of the served function', { timeout: 120_000 }, () => {
  let trap: Server;
  let trapPort = 0;
  let connections = 0;
  let wildcard: FunctionServer;
  let exact: FunctionServer;

  before(async () => {
    trap = createServer((s) => {
      connections++;
      s.destroy();
    });
    // Every local address, v4 and v6: a connection to any spelling of loopback lands here.
    await new Promise<void>((r) => trap.listen({ port: 0, host: '::', ipv6Only: false }, r));
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
    assert.match(
      (await refused(wildcard, '169.254.169.254:80 /computeMetadata/v1.ipynb')).record.error!.message,
      /metadata/,
    );
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

  // Numeric spellings: the HTTP client would canonicalise each to loopback or the metadata
  // server, so the guard decides on the canonical host (request/address.ts).
  const spellings: Array<[string, string]> = [
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['0x7f000001', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['[0:0::1]', '[::1]'],
    ['[::0:1]', '[::1]'],
    ['[0:0:0:0:0:ffff:7f00:1]', '[::ffff:7f00:1]'],
    ['2852039166', '169.254.169.254'],
    ['0xa9fea9fe', '169.254.169.254'],
    ['0251.0376.0251.0376', '169.254.169.254'],
    ['169.254.43518', '169.254.169.254'],
    ['169.254.169.254.', '169.254.169.254'],
    ['[0:0:0:0:0:ffff:a9fe:a9fe]', '[::ffff:a9fe:a9fe]'],
  ];
  test(
    'every numeric spelling of loopback or metadata, with ' +
      'ALLOWED_SERVERS=*: refused by its canonical form, no connection',
    async () => {
      for (const [host, canonical] of spellings) {
        const final = await refused(wildcard, `${host}:${trapPort} /nb.ipynb`);
        // Decided on the canonical address itself, before any DNS: the name check and the client agree.
        assert.ok(
          final.record.error!.message.startsWith(`server ${canonical}:${trapPort} refused: `),
          final.record.error!.message,
        );
        assert.match(final.record.error!.message, /metadata|private address/, host);
        assert.doesNotMatch(final.record.error!.message, /resolves to/, host);
        await refused(
          wildcard,
          JSON.stringify({
            server: `http://${host.toUpperCase().replace('X', 'x')}:${trapPort}`,
            notebook: '/nb.ipynb',
          }),
        );
      }
      assert.equal(connections, 0, 'no TCP connection reached the trap');
    },
  );
});
