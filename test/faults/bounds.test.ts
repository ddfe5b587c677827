/**
 * The bounds on what a run reads, through the served function (functions-framework child
 * process posting Pub/Sub CloudEvents), so each row shows the ack or retry decision the platform
 * sees (what a message may choose as its output is in bounds-outputs.test.ts):
 *
 * - a notebook read that trickles 1 KB every 100 ms under a 5 s deadline, a server that never
 *   answers the WebSocket handshake: TIMEOUT at the deadline, no kernel left;
 * - a notebook over the size cap (an endless answer from a front: the read stops after about the
 *   cap; a real file over it on the real server; 100 MB and more at the default cap), too many
 *   cells (a million at the default cap), a cell source over its cap, a
 *   kernel message over the frame limit: permanent errors naming the cap, no kernel left.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFunctionServer, type FunctionServer } from '../helpers/functions-framework.js';
import { endlessContents, startHttpFront, type HttpFront, type Sent } from '../helpers/http-front.js';
import { startTestServer, type TestServer } from '../helpers/jupyter.js';
import { check, deliver as deliverTo, type Delivery } from './bounds-common.js';
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

const deliver = (fn: FunctionServer, message: Record<string, unknown>): Promise<Delivery> =>
  deliverTo(server, fn, message);

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
      const cells = Array<string>(1_000_000).fill(cell).join(',');
      const text = `{"cells":[${cells}],"metadata":{},"nbformat":4,"nbformat_minor":5}`;
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
