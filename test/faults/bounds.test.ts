/**
 * What a message may choose, and the bounds on what a run reads, through the served function
 * (functions-framework child process posting Pub/Sub CloudEvents), so each row shows the ack or
 * retry decision the platform sees:
 *
 * - outputs a message may not choose (`../../x-{runId}.ipynb`, `/tmp/x.ipynb`,
 *   `file:///tmp/x.ipynb`, a bucket not allowed, `server:` on a server or in a folder not allowed): BAD_MESSAGE,
 *   acknowledged, nothing run, nothing written;
 * - a notebook read that trickles 1 KB every 100 ms under a 5 s deadline, a server that never
 *   answers the WebSocket handshake: TIMEOUT at the deadline, no kernel left;
 * - a notebook over the size cap (an endless answer from a front: the read stops after about the
 *   cap; a real file over it on the real server; 100 MB and more at the default cap), too many
 *   cells (a million at the default cap), a cell source over its cap, a
 *   kernel message over the frame limit: permanent errors naming the cap, no kernel left.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../cli/local/jupyter-server.js';
import {
  binaryEvent,
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
} from '../helpers/functions-framework.js';
import { endlessContents, startHttpFront, type HttpFront, type Sent } from '../helpers/http-front.js';
import { startTestServer, type TestServer } from '../helpers/jupyter.js';
import { recordRow, T } from './common.js';

const CAP = 4 * 1024 * 1024;
let server: TestServer;
let ff: FunctionServer;
let bounded: FunctionServer;
let trickle: HttpFront;
let endless: HttpFront;
let silent: HttpFront;
let hundred: HttpFront;
const endlessSent: Sent[] = [];
const hundredSent: Sent[] = [];
/** The default notebook cap (docs/function.md). */
const DEFAULT_CAP = 64 * 1024 * 1024;

before(async () => {
  server = await startTestServer();
  [ff, bounded, trickle, endless, silent, hundred] = await Promise.all([
    startFunctionServer({
      env: {
        JUPYTER_TOKEN: server.token,
        ALLOWED_OUTPUTS: `gs://allowed-bucket/reports server://${server.hostPort}/allowed`,
      },
    }),
    startFunctionServer({
      env: {
        JUPYTER_TOKEN: server.token,
        NBTRIGGER_MAX_NOTEBOOK_BYTES: String(CAP),
        NBTRIGGER_MAX_CELLS: '100',
        NBTRIGGER_MAX_CELL_SOURCE: '10000',
        NBTRIGGER_MEMORY_BUDGET_MB: '24',
      },
    }),
    startHttpFront(server.address, { route: endlessContents('trickle.ipynb', 1024, 100, []) }),
    startHttpFront(server.address, { route: endlessContents('endless.ipynb', 64 * 1024, 0, endlessSent) }),
    startHttpFront(server.address, { holdUpgrades: true }),
    startHttpFront(server.address, { route: endlessContents('hundred.ipynb', 1024 * 1024, 0, hundredSent) }),
  ]);
});
after(async () => {
  await Promise.all([
    ff?.stop(),
    bounded?.stop(),
    trickle?.close(),
    endless?.close(),
    silent?.close(),
    hundred?.close(),
  ]);
  await server?.close();
});

interface Delivery {
  status: number;
  final: FinalLine;
  seconds: number;
  left: number;
}

async function deliver(fn: FunctionServer, message: Record<string, unknown>): Promise<Delivery> {
  const req = binaryEvent({ text: JSON.stringify(message) });
  const t0 = Date.now();
  const res = await fn.post(req);
  const seconds = (Date.now() - t0) / 1000;
  const final = (await fn.waitForLine((l) => l.eventId === req.id && isFinal(l), 60_000)) as FinalLine;
  return { status: res.status, final, seconds, left: (await server.kernels()).length };
}

/** Decision, code, message, bound, no kernel; then the table row. */
function check(
  fault: string,
  d: Delivery,
  want: { code: string; message: RegExp; maxSeconds: number; minSeconds?: number },
): void {
  const e = d.final.record.error;
  assert.equal(e?.code, want.code, JSON.stringify(d.final.record));
  assert.match(e!.message, want.message);
  assert.equal(d.final.ack, true, 'a permanent outcome is acknowledged');
  assert.equal(d.status, 204);
  assert.ok(d.seconds < want.maxSeconds && d.seconds >= (want.minSeconds ?? 0), `${d.seconds} s`);
  assert.equal(d.left, 0, 'no kernel left');
  recordRow({
    fault,
    expected: `${want.code} (ack)`,
    observed: `${e!.code} (${d.final.ack ? 'ack' : 'retry'}, HTTP ${d.status})`,
    seconds: d.seconds,
    kernelsLeft: d.left,
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('fault: a message chooses an output it may not', () => {
  let nb: string;
  before(async () => {
    nb = await server.writeNotebook(`out-${randomUUID().slice(0, 8)}.ipynb`, ['print("ran")']);
  });

  for (const [output, why] of [
    ['../../x-{runId}.ipynb', /"\.\." segment/],
    ['/tmp/x.ipynb', /absolute path/],
    ['file:///tmp/x.ipynb', /file: location/],
    ['gs://not-allowed-bucket/reports/x.ipynb', /not in ALLOWED_OUTPUTS \(gs:\/\/allowed-bucket\/reports\)/],
    ['gs://allowed-bucket/reports-evil/x.ipynb', /not in ALLOWED_OUTPUTS/],
  ] as const) {
    test(`output ${output}: BAD_MESSAGE naming output, ack, nothing run or written`, T, async () => {
      const tmpBefore = await exists('/tmp/x.ipynb');
      const runsParent = dirname(dirname(ff.runsDir));
      const d = await deliver(ff, { server: server.hostPort, notebook: `/${nb}`, output });
      assert.equal(d.final.record.cells?.executed ?? 0, 0, 'nothing ran');
      assert.equal(d.final.record.server, null, 'refused before any run: the record names no server');
      assert.match(d.final.record.error!.message, /^output: /);
      assert.equal(await exists('/tmp/x.ipynb'), tmpBefore, '/tmp/x.ipynb not written');
      assert.ok(
        !(await readdir(runsParent)).some((f) => /^x-.*\.ipynb$/.test(f)),
        'nothing written beside the runs folder',
      );
      assert.deepEqual(
        await readdir(ff.runsDir).catch(() => []),
        [],
        'no record: the message was refused before the claim',
      );
      check(`message output ${output}`, d, { code: 'BAD_MESSAGE', message: why, maxSeconds: 10 });
    });
  }

  test('output server:/allowed/… on another server: BAD_MESSAGE, ack', T, async () => {
    const other = `127.0.0.1:${await freePort()}`;
    const d = await deliver(ff, { server: other, notebook: `/${nb}`, output: 'server:/allowed/x.ipynb' });
    check('message output server: on another server', d, {
      code: 'BAD_MESSAGE',
      message: new RegExp(`on ${other} is not in ALLOWED_OUTPUTS`),
      maxSeconds: 10,
    });
  });

  test(
    'output server:/elsewhere/… on its own server, outside the allowed folder: BAD_MESSAGE, nothing written',
    T,
    async () => {
      const d = await deliver(ff, { server: server.hostPort, notebook: `/${nb}`, output: 'server:/elsewhere/x.ipynb' });
      assert.equal(d.final.record.cells?.executed ?? 0, 0, 'nothing ran');
      const res = await fetch(`http://${server.hostPort}/api/contents/elsewhere/x.ipynb`, {
        headers: { authorization: `token ${server.token}` },
      });
      assert.equal(res.status, 404, 'nothing written on the server');
      check('message output server:/elsewhere/ on its own server', d, {
        code: 'BAD_MESSAGE',
        message: /server:\/elsewhere\/x\.ipynb.* is not in ALLOWED_OUTPUTS/,
        maxSeconds: 10,
      });
    },
  );

  test(
    'allowed outputs still work: a relative path lands in the runs folder, server:/allowed/ on its server',
    T,
    async () => {
      const d = await deliver(ff, {
        server: server.hostPort,
        notebook: `/${nb}`,
        output: 'mine/{notebook}-{runId}.ipynb',
      });
      assert.equal(d.final.record.status, 'succeeded', JSON.stringify(d.final.record));
      const written = (d.final.record.outputs as { notebook: string }).notebook;
      assert.ok(written.startsWith(join(ff.runsDir, 'mine/')), written);
      assert.ok(await exists(written));
      const s = await deliver(ff, {
        server: server.hostPort,
        notebook: `/${nb}`,
        output: 'server:/allowed/{runId}.ipynb',
      });
      assert.equal(s.final.record.status, 'succeeded', JSON.stringify(s.final.record));
      assert.match((s.final.record.outputs as { notebook: string }).notebook, /^server:\/allowed\/[0-9a-f]+\.ipynb$/);
    },
  );
});

describe('fault: the notebook read and the start are bounded', () => {
  test(
    'a notebook read trickling 1 KB every 100 ms under a 5 s deadline: TIMEOUT at the deadline, no kernel left',
    T,
    async () => {
      const d = await deliver(ff, {
        server: trickle.hostPort,
        notebook: '/trickle.ipynb',
        timeouts: { runSeconds: 5 },
      });
      check('notebook read trickles 1 KB / 100 ms, 5 s deadline', d, {
        code: 'TIMEOUT',
        message: /deadline passed before the first cell/,
        minSeconds: 4.5,
        maxSeconds: 20,
      });
    },
  );

  test(
    'a server that never answers the WebSocket handshake under a 5 s deadline: TIMEOUT, the kernel deleted',
    T,
    async () => {
      const nb = await server.writeNotebook('hs.ipynb', ['1']);
      const d = await deliver(ff, { server: silent.hostPort, notebook: `/${nb}`, timeouts: { runSeconds: 5 } });
      assert.ok(silent.upgrades >= 1, 'the handshake was attempted');
      check('WebSocket handshake never answered, 5 s deadline', d, {
        code: 'TIMEOUT',
        message: /kernel channel/,
        minSeconds: 4.5,
        maxSeconds: 20,
      });
    },
  );

  test('an endless notebook answer: BAD_NOTEBOOK naming the cap; the read stopped after about the cap', T, async () => {
    const d = await deliver(bounded, { server: endless.hostPort, notebook: '/endless.ipynb' });
    await endlessSent[0]!.closed;
    const sent = endlessSent[0]!.bytes;
    // The client takes at most twice the cap (JSON escaping); the rest is what socket buffers held.
    assert.ok(sent < 2 * CAP + 16 * 1024 * 1024, `the front sent ${sent} bytes before the client closed`);
    check('notebook answer never ends (cap 4 MiB)', d, {
      code: 'BAD_NOTEBOOK',
      message: /larger than the cap of 4194304 bytes \(NBTRIGGER_MAX_NOTEBOOK_BYTES\)/,
      maxSeconds: 20,
    });
  });

  test('a real notebook over the cap on the real server: BAD_NOTEBOOK naming the cap', T, async () => {
    const nb = await server.writeNotebook(
      'big.ipynb',
      Array.from({ length: 10 }, (_, i) => `# ${i}\n${'x = 1\n'.repeat(90_000)}`),
    );
    const d = await deliver(bounded, { server: server.hostPort, notebook: `/${nb}` });
    check('notebook over the size cap (real server)', d, {
      code: 'BAD_NOTEBOOK',
      message: /larger than the cap of 4194304 bytes/,
      maxSeconds: 20,
    });
  });

  /**
   * Under the run deadline, a read this large either ends (the cap refuses it) or is cut at the
   * deadline (TIMEOUT), depending on how fast the machine reads: either way permanent, acked,
   * nothing run and no kernel left.
   */
  function capOrDeadline(fault: string, d: Delivery, cap: RegExp): void {
    const r = d.final.record;
    const e = r.error;
    assert.ok(e?.code === 'BAD_NOTEBOOK' || e?.code === 'TIMEOUT', JSON.stringify(r));
    assert.match(e.message, e.code === 'BAD_NOTEBOOK' ? cap : /deadline passed before the first cell/);
    assert.equal(e.retryable, false);
    assert.equal(d.final.ack, true);
    assert.equal(r.cells?.executed ?? 0, 0, 'nothing ran');
    // Not asserted: the run's end. The deadline aborts the read, but not a JSON parse already under
    // way (tens of MB, seconds on a loaded machine), so a read that ends just before it ends later.
    const ms = Number(r.durationMs);
    assert.equal(d.left, 0, 'no kernel left');
    recordRow({
      fault,
      expected: 'BAD_NOTEBOOK naming the cap, or TIMEOUT at the deadline (ack)',
      observed: `${e.code} (${d.final.ack ? 'ack' : 'retry'}), run ${(ms / 1000).toFixed(1)} s`,
      seconds: d.seconds,
      kernelsLeft: d.left,
    });
  }

  test(
    'a notebook answer of 100 MB and more, default cap, 15 s deadline: refused by the cap or the deadline',
    T,
    async () => {
      const d = await deliver(ff, {
        server: hundred.hostPort,
        notebook: '/hundred.ipynb',
        timeouts: { runSeconds: 15 },
      });
      await hundredSent[0]!.closed;
      const sent = hundredSent[0]!.bytes;
      // The client takes at most twice the cap (JSON escaping); the rest is what socket buffers held.
      assert.ok(sent < 2 * DEFAULT_CAP + 16 * 1024 * 1024, `the front sent ${sent} bytes before the client closed`);
      capOrDeadline(
        'notebook answer of 100 MB and more (default cap 64 MiB), 15 s deadline',
        d,
        /larger than the cap of 67108864 bytes \(NBTRIGGER_MAX_NOTEBOOK_BYTES\)/,
      );
    },
  );

  test(
    'a million cells, default caps, 15 s deadline: refused by the cell cap or the deadline, nothing run',
    T,
    async () => {
      // 47 bytes a cell: 47 MB, under the default size cap, so the cell cap is what refuses it once read.
      const cell = '{"cell_type":"raw","source":"","metadata":{}}';
      const text = `{"cells":[${Array<string>(1_000_000).fill(cell).join(',')}],"metadata":{},"nbformat":4,"nbformat_minor":5}`;
      assert.ok(text.length < DEFAULT_CAP);
      const nb = await server.writeFile('million.ipynb', text);
      const d = await deliver(ff, { server: server.hostPort, notebook: `/${nb}`, timeouts: { runSeconds: 15 } });
      capOrDeadline(
        'a million cells (default caps), 15 s deadline',
        d,
        /has 1000000 cells, more than the cap of 10000 \(NBTRIGGER_MAX_CELLS\)/,
      );
    },
  );

  test('too many cells: BAD_NOTEBOOK naming the cap', T, async () => {
    const nb = await server.writeNotebook(
      'cells.ipynb',
      Array.from({ length: 101 }, (_, i) => String(i)),
    );
    const d = await deliver(bounded, { server: server.hostPort, notebook: `/${nb}` });
    check('101 cells, cap 100', d, {
      code: 'BAD_NOTEBOOK',
      message: /has 101 cells, more than the cap of 100 \(NBTRIGGER_MAX_CELLS\)/,
      maxSeconds: 20,
    });
  });

  test('a cell source over its cap: BAD_NOTEBOOK naming the cap and the cell', T, async () => {
    const nb = await server.writeNotebook('source.ipynb', ['1', `x = "${'y'.repeat(10_000)}"`]);
    const d = await deliver(bounded, { server: server.hostPort, notebook: `/${nb}` });
    check('cell source 10,006 characters, cap 10,000', d, {
      code: 'BAD_NOTEBOOK',
      message: /cell 1 source is 10006 characters, more than the cap of 10000 \(NBTRIGGER_MAX_CELL_SOURCE\)/,
      maxSeconds: 20,
    });
  });

  test(
    'a kernel message over the frame limit (8 MiB from a 24 MiB budget): PROTOCOL_ERROR, ack, no kernel left',
    T,
    async () => {
      const nb = await server.writeNotebook('frame.ipynb', [
        'from IPython.display import display, HTML\ndisplay(HTML("z" * 10_000_000))',
        '"after"',
      ]);
      const d = await deliver(bounded, { server: server.hostPort, notebook: `/${nb}` });
      check('kernel message of 10 MB, frame limit 8 MiB', d, {
        code: 'PROTOCOL_ERROR',
        message: /larger than the frame limit of 8388608 bytes/,
        maxSeconds: 30,
      });
    },
  );
});
