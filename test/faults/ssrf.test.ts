/**
 * Fault: SSRF through address spellings. With `ALLOWED_SERVERS=*`, each listed numeric spelling
 * of loopback or the metadata server goes through the whole handler (the real runner behind it)
 * and is refused, permanently, by its canonical form, while a listener on every local address
 * counts zero connections: one row per spelling. Then a fast-check property: random encodings of
 * forbidden addresses never parse to an allowed server, and handed raw to the guarded connector
 * (the system resolver reads many of them as numbers too) never open a socket.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { isNbtError, NbtError } from '../../functions/errors.js';
import { createHandler, type HandlerEnv } from '../../functions/handler.js';
import { parseMessage } from '../../functions/request/grammar.js';
import type { RunRecord } from '../../functions/run/record.js';
import { classifyIp, ipv6Groups } from '../../functions/security/address-policy.js';
import { createConnector } from '../../functions/security/connector.js';
import { guardFromEnv } from '../../functions/security/guard.js';
import { recordRow } from './common.js';
import { forbiddenSpelling, LISTED_SPELLINGS } from './ssrf-spellings.js';

const TOKEN = 'ssrf-fault-t0ken';

describe('fault: SSRF spellings', () => {
  let trap: Server;
  let port = 0;
  let connections = 0;
  before(async () => {
    trap = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen({ port: 0, host: '::', ipv6Only: false }, r));
    port = (trap.address() as { port: number }).port;
  });
  after(() => trap.close());

  const env: HandlerEnv = { JUPYTER_TOKEN: TOKEN, ALLOWED_SERVERS: '*', NBTRIGGER_STORE: 'none' } as HandlerEnv;

  for (const spelling of LISTED_SPELLINGS) {
    test(`HOST ${spelling} with ALLOWED_SERVERS=*: SERVER_NOT_ALLOWED, no connection`, {
      timeout: 30_000,
    }, async () => {
      const t0 = Date.now();
      const records: RunRecord[] = [];
      const lines: string[] = [];
      const before = connections;
      const handler = createHandler({ env, write: (l) => lines.push(l), onRecord: (r) => records.push(r) });
      const text = `${spelling}:${port} /nb.ipynb`;
      await handler({
        id: spelling,
        data: { message: { data: Buffer.from(text).toString('base64'), messageId: spelling } },
      });
      const error = records.at(-1)?.error;
      assert.equal(error?.code, 'SERVER_NOT_ALLOWED', JSON.stringify(records.at(-1)));
      assert.equal(error?.retryable, false);
      assert.doesNotMatch(error!.message, /resolves to/, 'decided on the canonical address, before any DNS');
      assert.ok(!lines.join('\n').includes(TOKEN));
      const seen = connections - before;
      assert.equal(seen, 0);
      recordRow({
        fault: `SSRF spelling ${spelling}:PORT (ALLOWED_SERVERS=*)`,
        expected: 'SERVER_NOT_ALLOWED (ack), 0 connections',
        observed: `${error!.code} (${error!.retryable ? 'retry' : 'ack'}), ${seen} connections`,
        seconds: (Date.now() - t0) / 1000,
        kernelsLeft: 'n/a',
      });
    });
  }

  test('the listed spellings handed raw to the guarded connector (http and TLS): refused, no connection', {
    timeout: 60_000,
  }, async () => {
    const connector = createConnector({
      privateOk: false,
      refuse: (why) => new NbtError('SERVER_NOT_ALLOWED', why),
      timeoutMs: 5000,
    });
    const before = connections;
    for (const spelling of LISTED_SPELLINGS) {
      const raw = spelling.startsWith('[') ? spelling.slice(1, -1) : spelling;
      for (const secure of [false, true]) {
        const err = await new Promise<Error | null>((res) =>
          connector.open({ host: raw, port, secure }, (e, sock) => {
            sock?.destroy();
            res(e);
          }),
        );
        assert.ok(err, `connected to ${spelling} (secure: ${secure})`);
      }
    }
    assert.equal(connections, before, 'a connection reached the trap');
  });

  test('property: random encodings of forbidden addresses never reach an allowed server nor open a socket', {
    timeout: 180_000,
  }, async () => {
    const t0 = Date.now();
    const guard = guardFromEnv({ ALLOWED_SERVERS: '*' });
    const connector = createConnector({
      privateOk: false,
      refuse: (why) => new NbtError('SERVER_NOT_ALLOWED', why),
      timeoutMs: 5000,
    });
    const before = connections;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(forbiddenSpelling, async (s) => {
        runs++;
        // 1. The message: parsed to the canonical address it stands for, then refused.
        const request = parseMessage(`${s.text}:${port} /nb.ipynb`);
        const host = request.server.host;
        if (s.v4) assert.equal(host, s.v4, s.text);
        else assert.deepEqual(ipv6Groups(host), s.v6, `${s.text} → ${host}`);
        assert.equal(classifyIp(host)?.private, true, host);
        assert.throws(
          () => guard.check(request.server),
          (e: unknown) => isNbtError(e) && e.code === 'SERVER_NOT_ALLOWED',
          s.text,
        );
        // 2. The raw spelling into the connector (past the guard): refused or unresolvable, never connected.
        const raw = s.text.startsWith('[') ? s.text.slice(1, -1) : s.text;
        const err = await new Promise<Error | null>((res) =>
          connector.open({ host: raw, port, secure: false }, (e, sock) => {
            sock?.destroy();
            res(e);
          }),
        );
        assert.ok(err, `connected to ${s.text}`);
        assert.equal(connections, before, `a connection reached the trap for ${s.text}`);
      }),
      { numRuns: 300 },
    );
    recordRow({
      fault: `${runs} random encodings of forbidden addresses`,
      expected: 'refused, 0 connections',
      observed: `${runs} refused, ${connections - before} connections`,
      seconds: (Date.now() - t0) / 1000,
      kernelsLeft: 'n/a',
    });
  });
});
