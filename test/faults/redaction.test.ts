/**
 * Faults of redaction, escaping and message classification, each through real parts: the
 * function's handler running notebooks on a real Jupyter server, the `nbtrigger` CLI, and
 * `nbtrigger runs --html` over records on disk. One fault-table row per input:
 * a server that echoes the request's headers (the token) in an error body, cut where the token
 * sits; a `--verbose` kernel-message line cut inside the token; a token with `&'<>"%+/` that a
 * notebook echoes raw, JSON-, HTML- and URL-encoded into a notebook, a page and the logs; and
 * messages with `1e400`, nesting past 512 and 9.6 MB of escapes. A record whose status is a
 * `<script>` is in redaction-records.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHandler, type HandlerEnv } from '../../functions/handler.js';
import type { RunRecord } from '../../functions/run/record.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer, type TestServer } from '../helpers/jupyter.js';
import { recordRow, T } from './common.js';

/** 48 letters no other text here is made of, so that any 5 of them in a row is a leak. */
const TOKEN = Array.from({ length: 48 }, (_, i) => 'ghjkmnpqrstvwxyzGHJKMNPQRSTVWXYZ'[(i * 7 + Date.now()) % 32]).join(
  '',
);

function leakOf(text: string, token = TOKEN, n = 5): string | undefined {
  for (let i = 0; i + n <= token.length; i++) if (text.includes(token.slice(i, i + n))) return token.slice(i, i + n);
  return undefined;
}

let server: TestServer;
let dir: string;

before(async () => {
  server = await startTestServer({ token: TOKEN });
  await server.writeFile('leak.txt', TOKEN);
  dir = await mkdtemp(join(tmpdir(), 'nbt-fault-redaction-'));
});
after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The handler as deployed, in this process, with the run it really does; lines and records captured. */
async function deliver(
  text: string,
  env: Partial<HandlerEnv> = {},
): Promise<{ record: RunRecord; lines: string; acked: boolean; seconds: number }> {
  const lines: string[] = [];
  const records: RunRecord[] = [];
  const handler = createHandler({
    env: { JUPYTER_TOKEN: TOKEN, ALLOWED_SERVERS: server.hostPort, NBTRIGGER_STORE: 'none', ...env } as HandlerEnv,
    write: (l) => lines.push(l),
    onRecord: (r) => records.push(r),
  });
  const id = `m-${Math.random().toString(36).slice(2)}`;
  const t0 = Date.now();
  let acked = true;
  try {
    await handler({ id, data: { message: { data: Buffer.from(text).toString('base64'), messageId: id } } });
  } catch {
    acked = false;
  }
  return { record: records.at(-1)!, lines: lines.join(''), acked, seconds: (Date.now() - t0) / 1000 };
}

describe('fault: secrets at cuts', () => {
  let echo: Server;
  before(async () => {
    // A server (a misconfigured proxy, say) whose error names the request's headers: the
    // 200-character clip of the message falls 46 characters into the 48-character token.
    echo = createServer((req, res) => {
      const headers = `Authorization: ${req.headers.authorization ?? ''}`;
      const message = `${'p'.repeat(200 - 21 - 46)}${headers} and the rest of the request`;
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  });
  after(() => new Promise<void>((r) => echo.close(() => r())));

  test('a server that echoes headers in an error: the record and the log hold no piece of the token', T, async () => {
    const port = (echo.address() as { port: number }).port;
    const d = await deliver(JSON.stringify({ server: `127.0.0.1:${port}`, notebook: '/a.ipynb' }), {
      ALLOWED_SERVERS: `127.0.0.1:${port}`,
    });
    assert.equal(d.record.status, 'error');
    assert.equal(d.record.error?.code, 'REQUEST_REJECTED', d.record.error?.message);
    assert.match(
      d.record.error!.message,
      /HTTP 400 p+Authorization: (token )?\[REDACTED\]/,
      'the message is kept, the token in it is not',
    );
    assert.equal(leakOf(JSON.stringify(d.record)), undefined, 'record');
    assert.equal(leakOf(d.lines), undefined, 'log');
    assert.ok(d.acked);
    recordRow({
      fault: 'server echoes the token in an error body; the 200-char cut falls 46 of 48 chars into it',
      expected: 'no piece of the token in record or log',
      observed: `REQUEST_REJECTED, "${d.record.error!.message.slice(-40)}", no 5-char piece`,
      seconds: d.seconds,
      kernelsLeft: 'n/a',
    });
  });

  test('--verbose: a kernel-message line cut 47 characters into the token holds no piece of it', T, async () => {
    await server.writeNotebook('verbose.ipynb', [
      `t = open("leak.txt").read()\nprint("x" * ${2000 - 47} + t + "y" * 3000)`,
    ]);
    const d = await deliver(`${server.hostPort} /verbose.ipynb --verbose`);
    assert.equal(d.record.status, 'succeeded', d.record.error?.message);
    assert.match(d.lines, /"severity":"DEBUG".*x{1953}\[RED/, 'the stream line was logged, cut after the redaction');
    assert.equal(leakOf(d.lines), undefined, 'log');
    recordRow({
      fault: '--verbose kernel-message line cut 47 of 48 chars into the token',
      expected: 'no piece of the token in the DEBUG line',
      observed: 'line ends x…[RED…, no 5-char piece',
      seconds: d.seconds,
      kernelsLeft: (await server.kernels()).length,
    });
  });
});

describe('fault: a token with &\'<>"%+/ echoed in every encoding', () => {
  const NASTY = `Nb&'<>"%+/=;${TOKEN.slice(0, 20)}`;
  let nasty: TestServer;
  before(async () => {
    nasty = await startTestServer({ token: NASTY });
    await nasty.writeFile('leak.txt', NASTY);
    await nasty.writeNotebook('echo.ipynb', [
      'import html, json, urllib.parse\nt = open("leak.txt").read()',
      'print(t); print(json.dumps(t)); print(json.dumps({"k": t}, ensure_ascii=True)); ' +
        'print(html.escape(t)); print(urllib.parse.quote_plus(t))',
      'from IPython.display import HTML, display\ndisplay(HTML("<b>" + html.escape(t) + "</b>"))',
      'raise ValueError(html.escape(t) + " " + urllib.parse.quote(t))',
    ]);
  });
  after(() => nasty?.close());

  test('no written file (notebook, page, record) and no output line holds the token in any form', {
    timeout: 180_000,
  }, async () => {
    const root = join(dir, 'nasty');
    const t0 = Date.now();
    const cli = await runCli([
      'run',
      '--json',
      '--html',
      '--output-root',
      root,
      '--server',
      nasty.hostPort,
      '--token',
      NASTY,
      '--verbose',
      'echo.ipynb',
    ]);
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(cli.code, 1, cli.stderr); // the last cell raises
    const files = (await readdir(root, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
    assert.ok(files.some((f) => f.endsWith('.html')) && files.some((f) => f.endsWith('.ipynb')), files.join(', '));
    const forms = new Set([
      NASTY,
      JSON.stringify(NASTY).slice(1, -1),
      NASTY.replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#x27;'),
      NASTY.replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#39;'),
      encodeURIComponent(NASTY),
      new URLSearchParams({ k: NASTY }).toString().slice(2),
    ]);
    const places: Array<[string, string]> = [
      ['CLI stdout', cli.stdout],
      ['CLI stderr', cli.stderr],
      ...(await Promise.all(files.map(async (f) => [f, await readFile(f, 'utf8')] as [string, string]))),
    ];
    for (const [where, text] of places) {
      for (const f of forms) assert.ok(!text.includes(f), `${JSON.stringify(f)} in ${where}`);
      assert.equal(leakOf(text, TOKEN.slice(0, 20), 6), undefined, `a piece of the token in ${where}`);
    }
    const page = places.find(([f]) => f.endsWith('.html'))![1];
    assert.match(page, /\[REDACTED\]/, 'the page shows the outputs, redacted');
    recordRow({
      fault: 'token with &\'<>"%+/ echoed raw, JSON, HTML-escaped and URL-encoded (run --html --verbose)',
      expected: 'no form in notebook, page, record or output',
      observed: `${files.length} files and 2 streams clean, [REDACTED] shown`,
      seconds,
      kernelsLeft: (await nasty.kernels()).length,
    });
  });
});

describe('fault: malformed messages', () => {
  const msg = (extra: string): string => `{"server":"${server.hostPort}","notebook":"/p.ipynb",${extra}}`;
  before(() =>
    server.writeNotebook('p.ipynb', [{ source: 'x = 0', tags: ['parameters'] }, 'len(x) if isinstance(x, str) else x']),
  );

  const cases: Array<[string, () => string, RegExp | undefined]> = [
    ['parameter 1e400', () => msg('"parameters":{"x":1e400}'), /parameters\.x: number 1e400 is out of range/],
    [
      'parameter nested 600 deep',
      () => msg(`"parameters":{"x":${'['.repeat(600)}${']'.repeat(600)}}`),
      /nesting deeper than 512 levels/,
    ],
    [
      '9.6 MB of escapes with a bad one at the end',
      () => msg(`"parameters":{"x":"${'\\n'.repeat(4_800_000)}\\q"}`),
      /not valid JSON/,
    ],
    [
      '9.6 MB of escapes (valid JSON): the cell would pass the kernel message limit',
      () => msg(`"parameters":{"x":"${'a\\n'.repeat(3_200_000)}"}`),
      /parameters: the injected cell would be \d+ bytes, over the 8388608/,
    ],
    [
      '2 MB of escapes (valid JSON): the run gets the value',
      () => msg(`"parameters":{"x":"${'a\\n'.repeat(700_000)}"}`),
      undefined,
    ],
  ];
  for (const [name, text, re] of cases) {
    test(name, { timeout: 180_000 }, async () => {
      const d = await deliver(text());
      assert.ok(d.acked, 'acknowledged, not retried');
      assert.notEqual(d.record.error?.code, 'INTERNAL', d.record.error?.message);
      if (re) {
        assert.equal(d.record.error?.code, 'BAD_MESSAGE');
        assert.match(d.record.error!.message, re);
      } else {
        assert.equal(d.record.status, 'succeeded', d.record.error?.message);
        assert.deepEqual(d.record.lastResult, { 'text/plain': '1400000' });
      }
      recordRow({
        fault: `message: ${name}`,
        expected: re ? 'BAD_MESSAGE naming the field, acked' : 'run, acked',
        observed: re
          ? `BAD_MESSAGE: ${d.record.error!.message.slice(0, 60)}`
          : `succeeded, len(x) = ${String(d.record.lastResult?.['text/plain'])}`,
        seconds: d.seconds,
        kernelsLeft: (await server.kernels()).length,
      });
    });
  }
});
