/**
 * The guarded connector on real loopback sockets: a rebinding resolver, IP literals (which Node
 * never resolves) and the last line, the connected peer, each refused before a byte is written.
 */
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { isNbtError, NbtError } from '../../../../functions/errors.js';
import { createConnector, httpCreateConnection, type Resolver } from '../../../../functions/security/connector.js';

/** A listener on every local address (v4 and v6) counting connections and bytes received. */
async function trapServer(): Promise<{ server: Server; port: number; stats: { connections: number; bytes: number } }> {
  const stats = { connections: 0, bytes: 0 };
  const server = createServer((s) => {
    stats.connections++;
    s.on('data', (d) => {
      stats.bytes += d.length;
    }).on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen({ port: 0, host: '::', ipv6Only: false }, r));
  return { server, port: (server.address() as { port: number }).port, stats };
}

/** Answers each lookup with the next address of `answers` (the last one repeats). */
function rebinding(answers: string[]): Resolver & { calls: number } {
  const r = Object.assign(
    async (): Promise<LookupAddress[]> => {
      const a = answers[Math.min(r.calls++, answers.length - 1)]!;
      return [{ address: a, family: a.includes(':') ? 6 : 4 }];
    },
    { calls: 0 },
  );
  return r;
}

const refuse = (why: string): NbtError => new NbtError('SERVER_NOT_ALLOWED', why);

function open(c: ReturnType<typeof createConnector>, host: string, port: number): Promise<Socket> {
  return new Promise((res, rej) => c.open({ host, port, secure: false }, (err, s) => (err ? rej(err) : res(s!))));
}

describe('guarded connector', () => {
  let trap: Awaited<ReturnType<typeof trapServer>>;
  before(async () => {
    trap = await trapServer();
  });
  after(() => trap.server.close());

  test('a name that rebinds from an allowed address to metadata or loopback is refused at lookup', async () => {
    const resolve = rebinding(['127.0.0.1', '169.254.169.254', '::ffff:a9fe:a9fe', '127.0.0.1']);
    const exact = createConnector({ privateOk: true, refuse, resolve });
    const s = await open(exact, 'nb.rebind.test', trap.port);
    s.destroy();
    await assert.rejects(
      open(exact, 'nb.rebind.test', trap.port),
      /resolves to 169\.254\.169\.254, a cloud metadata address/,
    );
    await assert.rejects(
      open(exact, 'nb.rebind.test', trap.port),
      /::ffff:a9fe:a9fe \(169\.254\.169\.254\), a cloud metadata/,
    );
    const before = trap.stats.connections;
    const wildcard = createConnector({ privateOk: false, refuse, resolve });
    await assert.rejects(
      open(wildcard, 'nb.rebind.test', trap.port),
      (e: unknown) =>
        isNbtError(e) &&
        e.code === 'SERVER_NOT_ALLOWED' &&
        /resolves to 127\.0\.0\.1, a private address \(loopback\)/.test(e.message),
    );
    assert.equal(trap.stats.connections, before, 'no connection after the first');
    assert.equal(resolve.calls, 4);
  });

  test('one forbidden address among several refuses the name', async () => {
    const resolve: Resolver = async () => [
      { address: '127.0.0.1', family: 4 },
      { address: '169.254.169.254', family: 4 },
    ];
    const before = trap.stats.connections;
    await assert.rejects(
      open(createConnector({ privateOk: true, refuse, resolve }), 'two.test', trap.port),
      /169\.254\.169\.254/,
    );
    assert.equal(trap.stats.connections, before);
  });

  test('an IP literal is judged before connecting (Node does not resolve literals)', async () => {
    const resolve = rebinding(['8.8.8.8']);
    const before = trap.stats.connections;
    for (const ip of ['127.0.0.1', '::1', '::ffff:7f00:1', '127.9.9.9']) {
      await assert.rejects(
        open(createConnector({ privateOk: false, refuse, resolve }), ip, trap.port),
        /private address \(loopback\)/,
        ip,
      );
    }
    assert.equal(resolve.calls, 0);
    assert.equal(trap.stats.connections, before);
  });

  test('the last line: a peer reached without the lookup is refused before a byte is written', async () => {
    // A connect that skips `lookup`, as Node does for a literal: only the peer check stands.
    const skipLookup = ((o: { port: number }) => netConnect({ host: '127.0.0.1', port: o.port })) as typeof netConnect;
    const c = createConnector({ privateOk: false, refuse, resolve: rebinding(['8.8.8.8']), netConnect: skipLookup });
    const conns = trap.stats.connections;
    const create = httpCreateConnection(c, false);
    const err = await new Promise<Error | null>((res) =>
      create({ host: 'public.test', port: trap.port }, (e, s) => {
        s?.destroy();
        res(e);
      }),
    );
    assert.match(String(err), /the connected peer 127\.0\.0\.1 is a private address \(loopback\)/);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(trap.stats.connections, conns + 1, 'the TCP handshake happened…');
    assert.equal(trap.stats.bytes, 0, '…and nothing was written on it');
  });

  test('a connect that cannot finish is an error after the limit, not a hang', async () => {
    const resolve: Resolver = () => new Promise(() => undefined);
    const c = createConnector({ privateOk: true, refuse, resolve, timeoutMs: 200 });
    await assert.rejects(
      open(c, 'slow.test', trap.port),
      (e: Error & { code?: string }) => e.code === 'UND_ERR_CONNECT_TIMEOUT',
    );
  });
});
