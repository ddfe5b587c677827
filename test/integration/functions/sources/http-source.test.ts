/**
 * https:// notebook sources from a local HTTPS server (a self-signed certificate the connector is
 * told to trust), through the guarded connector: the ETag is recorded, a same-origin redirect the
 * allowlist allows is followed and one to another host refused, the size cap holds with and without
 * a Content-Length, 404 and 5xx are classified, and a server that trickles ends at the run deadline
 * with no kernel left.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { NbtError } from '../../../../functions/errors.js';
import { runNotebook } from '../../../../functions/run/runner.js';
import { sourceConnector } from '../../../../functions/security/guard.js';
import { checkSource, parseSourceAllowlist } from '../../../../functions/security/sources.js';
import { httpSource } from '../../../../functions/sources/http-source.js';
import { messageSource } from '../../../../functions/sources/open-source.js';
import { parseSourceRef, type ExternalRef } from '../../../../functions/sources/source-ref.js';
import { notebookJson, startTestServer, type TestServer } from '../../../helpers/jupyter.js';

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
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
}

const NB = notebookJson(['y = 3', 'y * 11']);

describe('https:// notebook source', { timeout: 180_000 }, () => {
  let dir: string;
  let server: Server;
  let port = 0;
  let cert = '';
  const hits: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbt-https-src-'));
    const pem = await selfSigned(dir);
    cert = pem.cert;
    server = createServer(pem, (req, res) => {
      hits.push(req.url ?? '');
      const url = req.url ?? '';
      if (url === '/nbs/ok.ipynb') {
        res.writeHead(200, { 'content-type': 'application/x-ipynb+json', etag: '"v-17"' });
        return res.end(NB);
      }
      if (url === '/nbs/moved.ipynb') {
        res.writeHead(302, { location: '/nbs/ok.ipynb' });
        return res.end();
      }
      if (url === '/nbs/away.ipynb') {
        res.writeHead(302, { location: `https://localhost:${port}/nbs/ok.ipynb` });
        return res.end();
      }
      if (url === '/nbs/big.ipynb') {
        res.writeHead(200, { 'content-length': String(NB.length + 5000) });
        return res.end(NB + ' '.repeat(5000));
      }
      if (url === '/nbs/big-chunked.ipynb') {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < 50; i++) res.write(' '.repeat(1000));
        return res.end(NB);
      }
      if (url === '/nbs/down.ipynb') {
        res.writeHead(503);
        return res.end('busy');
      }
      if (url === '/nbs/slow.ipynb') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const t = setInterval(() => res.write(' '), 200);
        res.on('close', () => clearInterval(t));
        return undefined;
      }
      res.writeHead(404);
      return res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const patterns = () => parseSourceAllowlist(`https://127.0.0.1:${port}/nbs/`);
  const source = (path: string) => {
    const ref = parseSourceRef(`https://127.0.0.1:${port}${path}`) as ExternalRef & { kind: 'http' };
    checkSource(ref, patterns());
    return httpSource(ref, {
      connector: sourceConnector(`https://127.0.0.1:${port}`, { ca: cert }),
      allow: (r) => checkSource(r, patterns()),
    });
  };
  const read = (path: string, maxBytes = 1 << 20, signal = new AbortController().signal) =>
    source(path).read(signal, maxBytes);
  const rejectsWith = (p: Promise<unknown>, code: string, re?: RegExp) =>
    assert.rejects(
      p,
      (e: unknown) => e instanceof NbtError && e.code === code && (re === undefined || re.test(e.message)),
    );

  test('the ETag is the version; a same-origin redirect inside the allowlist is followed', async () => {
    assert.deepEqual(await read('/nbs/ok.ipynb'), {
      text: NB,
      url: `https://127.0.0.1:${port}/nbs/ok.ipynb`,
      version: '"v-17"',
    });
    assert.equal((await read('/nbs/moved.ipynb')).version, '"v-17"');
  });

  test('a redirect to another host is refused, and never followed', async () => {
    const before = hits.length;
    await rejectsWith(read('/nbs/away.ipynb'), 'SOURCE_NOT_ALLOWED', /another host/);
    assert.deepEqual(hits.slice(before), ['/nbs/away.ipynb']);
  });

  test('the size cap holds with a Content-Length and while a body streams', async () => {
    await rejectsWith(read('/nbs/big.ipynb', 2000), 'BAD_NOTEBOOK', /cap of 2000 bytes/);
    await rejectsWith(read('/nbs/big-chunked.ipynb', 2000), 'BAD_NOTEBOOK', /cap of 2000 bytes/);
  });

  test('404 is NOTEBOOK_NOT_FOUND (permanent), 503 SERVER_ERROR (retryable)', async () => {
    await rejectsWith(read('/nbs/none.ipynb'), 'NOTEBOOK_NOT_FOUND');
    await assert.rejects(
      read('/nbs/down.ipynb'),
      (e: unknown) => e instanceof NbtError && e.code === 'SERVER_ERROR' && e.retryable,
    );
  });

  test('outside ALLOWED_SOURCES: refused before any request; the metadata server never reached', async () => {
    const before = hits.length;
    const other = parseSourceRef(`https://127.0.0.1:${port}/other/ok.ipynb`) as ExternalRef;
    await assert.rejects(
      messageSource(other, patterns(), { ca: cert }),
      (e: unknown) => e instanceof NbtError && e.code === 'SOURCE_NOT_ALLOWED',
    );
    assert.equal(hits.length, before, 'the server saw no request');
    const meta = parseSourceRef('http://169.254.169.254/computeMetadata/v1/nb.ipynb') as ExternalRef;
    const s = await messageSource(meta, parseSourceAllowlist('http://169.254.169.254/'));
    await rejectsWith(s.read(new AbortController().signal, 1 << 20), 'SOURCE_NOT_ALLOWED', /metadata/);
  });

  test('an untrusted certificate is not accepted', async () => {
    const ref = parseSourceRef(`https://127.0.0.1:${port}/nbs/ok.ipynb`) as ExternalRef & { kind: 'http' };
    const s = httpSource(ref, { connector: sourceConnector(`https://127.0.0.1:${port}`), allow: () => undefined });
    await rejectsWith(s.read(new AbortController().signal, 1 << 20), 'SERVER_UNREACHABLE', /certificate/i);
  });

  describe('in a run', () => {
    let jup: TestServer;
    before(async () => {
      jup = await startTestServer({ token: `tok-${Math.random().toString(36).slice(2)}` });
    });
    after(async () => jup?.close());
    const request = (path: string, runSeconds?: number) => ({
      server: { host: '127.0.0.1', port: jup.address.port, secure: false },
      notebook: `https://127.0.0.1:${port}${path}`,
      source: parseSourceRef(`https://127.0.0.1:${port}${path}`) as ExternalRef,
      verbose: false,
      timeouts: runSeconds ? { runSeconds } : {},
    });

    test('the notebook runs and the record holds its URL and ETag', async () => {
      const out = await runNotebook({
        request: request('/nbs/ok.ipynb'),
        token: jup.token,
        notebookSource: source('/nbs/ok.ipynb'),
      });
      assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
      assert.equal(out.record.lastResult?.['text/plain'], '33');
      assert.deepEqual(out.record.source, { url: `https://127.0.0.1:${port}/nbs/ok.ipynb`, version: '"v-17"' });
      assert.deepEqual(await jup.kernels(), []);
    });

    test('a server that trickles ends at the run deadline (TIMEOUT), no kernel left', async () => {
      const out = await runNotebook({
        request: request('/nbs/slow.ipynb', 2),
        token: jup.token,
        notebookSource: source('/nbs/slow.ipynb'),
      });
      assert.equal(out.record.error?.code, 'TIMEOUT', JSON.stringify(out.record.error));
      await out.cleanup;
      assert.deepEqual(await jup.kernels(), []);
    });
  });
});
