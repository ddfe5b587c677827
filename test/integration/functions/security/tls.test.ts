/**
 * The guarded connector over TLS. A real Jupyter server sits behind a TLS terminator with a
 * self-signed certificate (made here by the `openssl` binary, trusted through the connector's
 * `ca` option), and in front of that a counting TCP listener: the one place every connection
 * arrives, so a test observes what reached the server, not only the error the client saw.
 *
 * - a `--use-https` message runs through the whole handler (the real runner) on the TLS server,
 *   by IP literal and by a name; without the CA the same run fails (verification is on), and a
 *   certificate that does not name the host is a permanent failure that ends the run;
 * - a name that resolves to loopback through a wildcard, a forbidden IP literal, and a name that
 *   rebinds to the metadata server after the run (the contents-API write-back over TLS): refused,
 *   no connection reaches the listener;
 * - the last line on TLS: a peer reached without the lookup is judged before the handshake, so
 *   the listener sees the TCP handshake and not one byte (no ClientHello).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { LookupAddress } from 'node:dns';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { promisify } from 'node:util';
import { isNbtError, NbtError } from '../../../../functions/errors.js';
import { createHandler, type HandlerEnv } from '../../../../functions/handler.js';
import { runNotebook } from '../../../../functions/run/runner.js';
import { createConnector, type Resolver } from '../../../../functions/security/connector.js';
import type { StoredRun as RunRecord } from '../../../../functions/store/runs-store.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';

const TOKEN = 'tls-token-5ecret-value';
const NB_HOST = 'nb.tls.test';

/** A self-signed certificate for NB_HOST and 127.0.0.1 (PEM key and certificate). */
async function selfSigned(dir: string): Promise<{ key: string; cert: string }> {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    `/CN=${NB_HOST}`,
    '-addext',
    `subjectAltName=DNS:${NB_HOST},IP:127.0.0.1`,
  ]);
  return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
}

/** Counts TCP connections and bytes received, and pipes each connection to `targetPort`. */
interface Front {
  server: Server;
  port: number;
  stats: { connections: number; bytes: number };
}

async function countingFront(targetPort: number): Promise<Front> {
  const stats = { connections: 0, bytes: 0 };
  const server = createServer((s) => {
    stats.connections++;
    const up = netConnect({ host: '127.0.0.1', port: targetPort });
    s.on('data', (d) => {
      stats.bytes += d.length;
    });
    s.pipe(up).pipe(s);
    s.on('error', () => up.destroy());
    up.on('error', () => s.destroy());
    s.on('close', () => up.destroy());
    up.on('close', () => s.destroy());
  });
  await new Promise<void>((r) => server.listen({ port: 0, host: '::', ipv6Only: false }, r));
  return { server, port: (server.address() as { port: number }).port, stats };
}

interface FireOptions {
  allowed: string;
  resolve?: Resolver;
  ca?: string;
  /** Called when the runner returns (before the finish step connects). */
  onRan?: () => void;
}

describe('guarded connector over TLS', { timeout: 180_000 }, () => {
  let jupyter: TestServer;
  let tls: TlsServer;
  let front: Front;
  let secured = 0;
  let dir: string;
  let ca = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbtrigger-tls-'));
    const { key, cert } = await selfSigned(dir);
    ca = cert;
    // Jupyter Server refuses a Host header it does not know as local unless remote access is on.
    jupyter = await startTestServer({ token: TOKEN, args: ['--ServerApp.allow_remote_access=True'] });
    await jupyter.writeNotebook('tls/nb.ipynb', ['print(6 * 7)']);
    tls = createTlsServer({ key, cert }, (s) => {
      secured++;
      const up = netConnect({ host: '127.0.0.1', port: jupyter.address.port });
      s.pipe(up).pipe(s);
      s.on('error', () => up.destroy());
      up.on('error', () => s.destroy());
      s.on('close', () => up.destroy());
    });
    tls.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    front = await countingFront((tls.address() as { port: number }).port);
  });
  after(async () => {
    front?.server.close();
    tls?.close();
    await jupyter?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs one message through the handler (the real runner); `onRan` fires when the runner returns. */
  async function fire(text: string, o: FireOptions): Promise<RunRecord> {
    const env = {
      JUPYTER_TOKEN: TOKEN,
      ALLOWED_SERVERS: o.allowed,
      NBTRIGGER_STORE: 'none',
      NBTRIGGER_RUNS_DIR: dir,
    } as HandlerEnv;
    const records: RunRecord[] = [];
    const lines: string[] = [];
    const handler = createHandler({
      env,
      write: (l) => lines.push(l),
      onRecord: (r) => records.push(r as RunRecord),
      ...(o.resolve ? { resolve: o.resolve } : {}),
      ...(o.ca ? { ca: o.ca } : {}),
      run: async (opts) => {
        const out = await runNotebook(opts);
        o.onRan?.();
        return out;
      },
    });
    const data = Buffer.from(text).toString('base64');
    await handler({ id: `ev-${Math.random()}`, data: { message: { data, messageId: `m-${Math.random()}` } } }).catch(
      () => undefined,
    ); // a transient failure throws (redelivery); the record says what happened
    assert.ok(!lines.join('\n').includes(TOKEN), 'the token is never logged');
    return records.at(-1)!;
  }

  const loopback: Resolver = async (host) => {
    if (host !== NB_HOST) throw Object.assign(new Error(`unknown host ${host}`), { code: 'ENOTFOUND' });
    return [{ address: '127.0.0.1', family: 4 }];
  };

  test('a --use-https run reaches the allowed TLS server (by IP and by name), only with its CA trusted', async () => {
    const before = { conns: front.stats.connections, secured };
    const byIp = await fire(`127.0.0.1:${front.port} /tls/nb.ipynb --use-https`, {
      allowed: `127.0.0.1:${front.port}`,
      ca,
    });
    assert.equal(byIp.status, 'succeeded', JSON.stringify(byIp.error));
    assert.match(byIp.server ?? '', /^https:\/\/127\.0\.0\.1:/);
    const byName = await fire(`${NB_HOST}:${front.port} /tls/nb.ipynb --use-https`, {
      allowed: `${NB_HOST}:${front.port}`,
      resolve: loopback,
      ca,
    });
    assert.equal(byName.status, 'succeeded', JSON.stringify(byName.error));
    assert.ok(front.stats.connections > before.conns, 'connections arrived at the listener');
    assert.ok(secured > before.secured, 'TLS handshakes completed at the server');
    // The same run without the CA: the self-signed certificate is refused by the client.
    const securedBefore = secured;
    const untrusted = await fire(`127.0.0.1:${front.port} /tls/nb.ipynb --use-https`, {
      allowed: `127.0.0.1:${front.port}`,
    });
    assert.notEqual(untrusted.status, 'succeeded');
    assert.match(untrusted.error?.message ?? '', /SELF_SIGNED_CERT/, JSON.stringify(untrusted.error));
    assert.equal(secured, securedBefore, 'no handshake completed without the CA');
  });

  // The handler returning at all is the point: undici's graceful pool close never settles after this failure.
  test('a certificate that does not name the host: permanent, and the run ends', { timeout: 60_000 }, async () => {
    // The name resolves to the server, whose certificate names nb.tls.test and 127.0.0.1 only.
    const other: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const record = await fire(`other.tls.test:${front.port} /tls/nb.ipynb --use-https`, {
      allowed: `other.tls.test:${front.port}`,
      resolve: other,
      ca,
    });
    assert.equal(record.error?.code, 'SERVER_UNREACHABLE', JSON.stringify(record.error));
    assert.equal(record.error?.retryable, false);
    assert.match(record.error?.message ?? '', /ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  test('a name that resolves to loopback through a wildcard: refused at lookup, no connection', async () => {
    const before = front.stats.connections;
    const record = await fire(`${NB_HOST}:${front.port} /tls/nb.ipynb --use-https`, {
      allowed: '*.tls.test',
      resolve: loopback,
      ca,
    });
    assert.equal(record.error?.code, 'SERVER_NOT_ALLOWED', JSON.stringify(record.error));
    assert.equal(record.error?.retryable, false);
    assert.match(record.error?.message ?? '', /resolves to 127\.0\.0\.1, a private address \(loopback\)/);
    assert.equal(front.stats.connections, before, 'no TCP connection reached the listener');
  });

  test('a name that rebinds to the metadata server after the run: TLS write-back refused, no connection', async () => {
    let rebound = false;
    let atRebind = 0;
    const resolve: Resolver = async (host): Promise<LookupAddress[]> => {
      if (host !== NB_HOST) throw Object.assign(new Error(`unknown host ${host}`), { code: 'ENOTFOUND' });
      return [{ address: rebound ? '169.254.169.254' : '127.0.0.1', family: 4 }];
    };
    const text = JSON.stringify({
      server: `https://${NB_HOST}:${front.port}`,
      notebook: '/tls/nb.ipynb',
      output: 'server:/out/tls-{runId}.ipynb',
    });
    const record = await fire(text, {
      allowed: `${NB_HOST}:${front.port}`,
      resolve,
      ca,
      onRan: () => {
        rebound = true;
        atRebind = front.stats.connections;
      },
    });
    assert.equal(record.status, 'succeeded', JSON.stringify(record.error));
    assert.equal(record.outputs?.notebook, undefined, 'the notebook was not written back');
    const all = [...record.warnings, ...(record.outputErrors ?? []).map((e) => e.message)].join('\n');
    assert.match(all, /nb\.tls\.test resolves to 169\.254\.169\.254, a cloud metadata address/, all);
    assert.equal(front.stats.connections, atRebind, 'no connection after the rebinding');
  });

  test('forbidden IP literals over TLS: refused before any socket', async () => {
    const refuse = (why: string): NbtError => new NbtError('SERVER_NOT_ALLOWED', why);
    const c = createConnector({ privateOk: false, refuse, ca });
    const before = front.stats.connections;
    for (const host of ['127.0.0.1', '::1', '::ffff:7f00:1', '0.0.0.0']) {
      const err = await new Promise<Error | null>((res) =>
        c.open({ host, port: front.port, secure: true }, (e, s) => {
          s?.destroy();
          res(e);
        }),
      );
      assert.ok(isNbtError(err) && err.code === 'SERVER_NOT_ALLOWED', `${host}: ${String(err)}`);
    }
    assert.equal(front.stats.connections, before);
  });

  test('the last line on TLS: a peer reached without the lookup is refused before the ClientHello', async () => {
    // A connect that skips `lookup`, as Node does for a literal: only the peer check stands.
    const skipLookup = ((o: { port: number }) => netConnect({ host: '127.0.0.1', port: o.port })) as typeof netConnect;
    const refuse = (why: string): NbtError => new NbtError('SERVER_NOT_ALLOWED', why);
    const publicOnly: Resolver = async () => [{ address: '8.8.8.8', family: 4 }];
    const c = createConnector({ privateOk: false, refuse, resolve: publicOnly, netConnect: skipLookup, ca });
    const before = { ...front.stats };
    const securedBefore = secured;
    const target = { host: 'public.tls.test', port: front.port, secure: true };
    const err = await new Promise<Error | null>((res) =>
      c.open(target, (e, s: Socket | undefined) => {
        s?.destroy();
        res(e);
      }),
    );
    assert.match(String(err), /the connected peer 127\.0\.0\.1 is a private address \(loopback\)/);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(front.stats.connections, before.connections + 1, 'the TCP handshake happened…');
    assert.equal(front.stats.bytes, before.bytes, '…and not one byte (no ClientHello) was written on it');
    assert.equal(secured, securedBefore);
    // Control: the same connector with the peer check passing (private addresses fine) completes the handshake.
    const ok = createConnector({ privateOk: true, refuse, resolve: publicOnly, netConnect: skipLookup, ca });
    const sock = await new Promise<Socket>((res, rej) =>
      ok.open({ host: NB_HOST, port: front.port, secure: true }, (e, s) => (e ? rej(e) : res(s!))),
    );
    assert.equal((sock as Socket & { authorized?: boolean }).authorized, true);
    sock.destroy();
    assert.ok(front.stats.bytes > before.bytes, 'the control wrote its ClientHello');
  });
});
