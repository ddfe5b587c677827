/**
 * The built function served by the real functions-framework (child process) receiving Pub/Sub
 * CloudEvent POSTs in both content modes, against a real local Jupyter server: success, ack vs
 * retry, `--verbose`, and the token never reaching a log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../../cli/local/jupyter-server.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';
import {
  binaryEvent,
  isFinal,
  rawPushRequest,
  startFunctionServer,
  structuredEvent,
  type FinalLine,
  type FunctionServer,
  type LogLine,
  type PubsubEventOptions,
} from '../../helpers/functions-framework.js';

const HELLO = ['a = 5\nb = 10\nprint("hello")', 'a + b'];
const FAILS = ['x = 1', 'raise ValueError("boom")', 'x + 1'];

type Mode = 'structured' | 'binary';
const build = (mode: Mode, o: PubsubEventOptions) => (mode === 'structured' ? structuredEvent(o) : binaryEvent(o));

/** POSTs one event and answers the HTTP status, the invocation's lines and its final line. */
async function invoke(
  ff: FunctionServer,
  mode: Mode,
  o: PubsubEventOptions,
): Promise<{ status: number; lines: LogLine[]; final: FinalLine }> {
  const req = build(mode, o);
  const res = await ff.post(req);
  // The final line is written before the function returns, so it is there (or arrives within ms).
  const final = (await ff.waitForLine((l) => l.eventId === req.id && isFinal(l), 10_000)) as FinalLine;
  return { status: res.status, lines: ff.linesFor(req.id), final };
}

function assertNoToken(ff: FunctionServer, ...tokens: string[]): void {
  const all = ff.stdout() + ff.stderr();
  for (const t of tokens) assert.ok(!all.includes(t), `token ${t.slice(0, 4)}… leaked into the function's output`);
}

describe('runNotebook served by functions-framework', { timeout: 240_000 }, () => {
  let jup: TestServer;
  let ff: FunctionServer;

  before(async () => {
    jup = await startTestServer({ token: `tok-${Math.random().toString(36).slice(2)}-secret` });
    await jup.writeNotebook('hello.ipynb', HELLO);
    await jup.writeNotebook('nested/fails.ipynb', FAILS);
    ff = await startFunctionServer({ env: { JUPYTER_TOKEN: jup.token } });
  });

  after(async () => {
    await ff?.stop();
    await jup?.close();
  });

  for (const mode of ['structured', 'binary'] as const) {
    for (const form of ['classic', 'json'] as const) {
      test(`${mode} CloudEvent, ${form} message: the hello notebook runs (204, succeeded, 15)`, async () => {
        const text =
          form === 'classic'
            ? `${jup.hostPort} /hello.ipynb`
            : JSON.stringify({ server: jup.hostPort, notebook: '/hello.ipynb' });
        const { status, final } = await invoke(ff, mode, { text, attributes: { origin: 'test' } });
        assert.equal(status, 204);
        assert.equal(final.severity, 'INFO');
        assert.equal(final.ack, true);
        assert.equal(final.record.status, 'succeeded', JSON.stringify(final.record));
        assert.deepEqual(final.record.lastResult, { 'text/plain': '15' });
        assert.equal(final.record.notebook, 'hello.ipynb');
        assert.deepEqual(await jup.kernels(), []);
      });
    }
  }

  test('a raw Pub/Sub push body (not a CloudEvent) is converted by functions-framework and runs', async () => {
    const req = rawPushRequest({ text: `${jup.hostPort} /hello.ipynb`, messageId: `push-${Date.now()}` });
    const res = await ff.post(req, '/projects/nbtrigger-test/topics/t_nbtrigger');
    assert.equal(res.status, 204);
    // functions-framework's legacy Pub/Sub middleware makes the messageId the CloudEvent id.
    const final = (await ff.waitForLine((l) => l.eventId === req.id && isFinal(l), 10_000)) as FinalLine;
    assert.equal(final.record.status, 'succeeded');
    assert.equal(final.record.messageId, req.id);
    assert.deepEqual(final.record.lastResult, { 'text/plain': '15' });
  });

  const rawPushWithoutDataTitle =
    'a raw push of a message without data (not converted by functions-framework) is acknowledged as BAD_MESSAGE';
  test(rawPushWithoutDataTitle, async () => {
    const messageId = `nodata-${Date.now()}`;
    const body = {
      message: { messageId, publishTime: new Date().toISOString(), attributes: { only: 'attributes' } },
      subscription: 'projects/p/subscriptions/s',
    };
    const res = await ff.post(
      { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      '/projects/p/topics/t_nbtrigger',
    );
    assert.equal(res.status, 204);
    const final = (await ff.waitForLine((l) => isFinal(l) && l.record.messageId === messageId, 10_000)) as FinalLine;
    assert.equal(final.record.error?.code, 'BAD_MESSAGE');
    assert.match(final.record.error?.message ?? '', /message data is empty/);
  });

  test('--verbose adds one DEBUG line per kernel message before the final line', async () => {
    const { status, lines, final } = await invoke(ff, 'binary', { text: `${jup.hostPort} /hello.ipynb --verbose` });
    assert.equal(status, 204);
    assert.equal(final.record.status, 'succeeded');
    const finalIndex = lines.indexOf(final);
    assert.equal(finalIndex, lines.length - 1, 'the final line is the last line of the invocation');
    const kernelLines = lines.filter((l) => l.severity === 'DEBUG' && typeof l.msgType === 'string');
    // Per cell at least: execute_input, status busy, status idle, execute_reply (+ stream / execute_result).
    assert.ok(kernelLines.length >= 8, `expected many kernel DEBUG lines, got ${kernelLines.length}`);
    const types = new Set(kernelLines.map((l) => l.msgType));
    for (const t of ['execute_reply', 'status', 'execute_input', 'stream', 'execute_result'])
      assert.ok(types.has(t), `no DEBUG line for ${t}`);
    for (const l of kernelLines) assert.ok(lines.indexOf(l) < finalIndex);
    // Each kernel message appears once: no msg is logged twice.
    const ids = kernelLines.map((l) => `${l.channel}/${l.msgType}/${l.parent}/${JSON.stringify(l.content)}`);
    assert.equal(new Set(ids).size, ids.length, 'a kernel message was logged twice');

    // Without --verbose there are none.
    const quiet = await invoke(ff, 'binary', { text: `${jup.hostPort} /hello.ipynb` });
    assert.equal(quiet.lines.filter((l) => l.severity === 'DEBUG').length, 0);
  });

  test('bad messages are acknowledged (204) with an ERROR line, code BAD_MESSAGE', async () => {
    const cases: Array<[string, PubsubEventOptions, RegExp]> = [
      ['not base64', { rawData: '%%% not base64 %%%' }, /base64/],
      ['unknown flag', { text: `${jup.hostPort} /hello.ipynb --frobnicate` }, /unknown flag "--frobnicate"/],
      [
        'token in a JSON message',
        { text: JSON.stringify({ server: jup.hostPort, notebook: 'hello.ipynb', token: 'x' }) },
        /token/,
      ],
    ];
    for (const [name, o, re] of cases) {
      for (const mode of ['structured', 'binary'] as const) {
        const { status, final } = await invoke(ff, mode, o);
        assert.equal(status, 204, `${name} (${mode})`);
        assert.equal(final.severity, 'ERROR', name);
        assert.equal(final.ack, true, name);
        assert.equal(final.record.error?.code, 'BAD_MESSAGE', `${name}: ${JSON.stringify(final.record.error)}`);
        assert.match(final.record.error?.message ?? '', re, name);
      }
    }
  });

  test('an event without a Pub/Sub message is acknowledged as BAD_MESSAGE', async () => {
    const req = structuredEvent({ text: 'x' });
    const body = JSON.parse(req.body) as Record<string, unknown>;
    body.data = { notAMessage: true };
    const res = await ff.post({ headers: req.headers, body: JSON.stringify(body) });
    assert.equal(res.status, 204);
    const final = (await ff.waitForLine((l) => l.eventId === req.id && isFinal(l), 10_000)) as FinalLine;
    assert.equal(final.record.error?.code, 'BAD_MESSAGE');
    assert.match(final.record.error?.message ?? '', /message/);
  });

  test('a cell error is acknowledged (204): record failed, CELL_ERROR, kernel deleted', async () => {
    const { status, final } = await invoke(ff, 'structured', { text: `${jup.hostPort} /nested/fails.ipynb` });
    assert.equal(status, 204);
    assert.equal(final.severity, 'ERROR');
    assert.equal(final.ack, true);
    assert.equal(final.record.status, 'failed');
    assert.equal(final.record.error?.code, 'CELL_ERROR');
    assert.equal(final.record.error?.cellIndex, 1);
    assert.equal(final.record.error?.ename, 'ValueError');
    assert.deepEqual(await jup.kernels(), []);
  });

  test('a missing notebook is acknowledged (204): NOTEBOOK_NOT_FOUND', async () => {
    const { status, final } = await invoke(ff, 'binary', { text: `${jup.hostPort} /nope.ipynb` });
    assert.equal(status, 204);
    assert.equal(final.ack, true);
    assert.equal(final.record.error?.code, 'NOTEBOOK_NOT_FOUND');
  });

  test('the token never appears in stdout or stderr', () => {
    assert.ok(ff.lines().length > 0);
    assertNoToken(ff, jup.token);
  });

  test('wrong JUPYTER_TOKEN: acknowledged (204), AUTH_REFUSED, token not logged', async () => {
    const wrong = `wrong-${Math.random().toString(36).slice(2)}-token`;
    const bad = await startFunctionServer({ env: { JUPYTER_TOKEN: wrong } });
    try {
      for (const mode of ['structured', 'binary'] as const) {
        const { status, final } = await invoke(bad, mode, { text: `${jup.hostPort} /hello.ipynb` });
        assert.equal(status, 204);
        assert.equal(final.severity, 'ERROR');
        assert.equal(final.ack, true);
        assert.equal(final.record.error?.code, 'AUTH_REFUSED', JSON.stringify(final.record.error));
      }
      assertNoToken(bad, wrong, jup.token);
    } finally {
      await bad.stop();
    }
  });

  test('JUPYTER_TOKEN unset: acknowledged (204) with a CONFIG error', async () => {
    const bare = await startFunctionServer({ env: {} });
    try {
      const { status, final } = await invoke(bare, 'binary', { text: `${jup.hostPort} /hello.ipynb` });
      assert.equal(status, 204);
      assert.equal(final.record.error?.code, 'CONFIG');
      assert.match(final.record.error?.message ?? '', /JUPYTER_TOKEN/);
    } finally {
      await bare.stop();
    }
  });

  test('server unreachable: 500 (retry) with a WARNING line; outside the retry window: 204 (given up)', async () => {
    const closed = await freePort();
    const token = `unreach-${Math.random().toString(36).slice(2)}-token`;
    const down = await startFunctionServer({
      env: {
        JUPYTER_TOKEN: token,
        JUPYTER_SERVER: `127.0.0.1:${closed}`,
        JUPYTER_NOTEBOOK: '/hello.ipynb',
        NBTRIGGER_RETRY_WINDOW_SEC: '600',
      },
    });
    try {
      const text = JSON.stringify({ timeouts: { startSeconds: 1 } });
      for (const mode of ['structured', 'binary'] as const) {
        const t0 = Date.now();
        const { status, lines, final } = await invoke(down, mode, { text });
        assert.equal(status, 500, `${mode}: a transient failure must be retried`);
        assert.ok(Date.now() - t0 < 15_000, 'the start timeout (1 s) bounds the attempt');
        assert.equal(final.severity, 'WARNING');
        assert.equal(final.ack, false);
        assert.equal(final.record.error?.code, 'SERVER_UNREACHABLE', JSON.stringify(final.record.error));
        assert.ok(lines.some((l) => l.severity === 'WARNING'));
      }

      // Published 20 minutes ago, window 10 minutes: give up (ack) instead of retrying forever.
      const old = new Date(Date.now() - 1200_000).toISOString();
      for (const mode of ['structured', 'binary'] as const) {
        const { status, lines, final } = await invoke(down, mode, { text, publishTime: old });
        assert.equal(status, 204, `${mode}: outside the retry window the message is acknowledged`);
        assert.equal(final.ack, true);
        assert.equal(final.severity, 'ERROR');
        assert.equal(final.record.error?.code, 'SERVER_UNREACHABLE');
        assert.ok(
          lines.some((l) => l.severity === 'WARNING' && /retry window/.test(l.message)),
          'a WARNING says why it gave up',
        );
      }
      assertNoToken(down, token);
    } finally {
      await down.stop();
    }
  });

  test('a token that shows up inside a retried error is redacted on stdout, stderr and in the 500 body', async () => {
    // The notebook path contains the token, so the SERVER_UNREACHABLE message ("GET /api/contents/<path>") does too.
    const token = `leaky${Math.random().toString(36).slice(2, 10)}`;
    const closed = await freePort();
    const down = await startFunctionServer({
      env: { JUPYTER_TOKEN: token, JUPYTER_SERVER: `127.0.0.1:${closed}`, JUPYTER_NOTEBOOK: `/${token}.ipynb` },
    });
    try {
      const req = binaryEvent({ text: JSON.stringify({ timeouts: { startSeconds: 1 } }) });
      const res = await down.post(req);
      assert.equal(res.status, 500);
      assert.ok(!res.body.includes(token), `500 body leaks the token: ${res.body}`);
      const final = (await down.waitForLine((l) => l.eventId === req.id && isFinal(l), 10_000)) as FinalLine;
      assert.equal(final.record.error?.code, 'SERVER_UNREACHABLE');
      assert.match(JSON.stringify(final), /\[REDACTED\]/);
      // functions-framework prints the thrown error on stderr: one line, with the code, no token.
      await new Promise((r) => setTimeout(r, 200));
      const errLines = down.stderr().trim().split('\n').filter(Boolean);
      assert.equal(errLines.length, 1, `expected one stderr line, got:\n${down.stderr()}`);
      assert.match(errLines[0]!, /SERVER_UNREACHABLE/);
      assertNoToken(down, token);
    } finally {
      await down.stop();
    }
  });
});
