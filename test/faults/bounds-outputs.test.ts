/**
 * What a message may choose as its output, through the served function (functions-framework child
 * process posting Pub/Sub CloudEvents), so each row shows the ack or retry decision the platform
 * sees: outputs a message may not choose (`../../x-{runId}.ipynb`, `/tmp/x.ipynb`,
 * `file:///tmp/x.ipynb`, a bucket not allowed, `server:` on a server or in a folder not allowed):
 * BAD_MESSAGE, acknowledged, nothing run, nothing written. The bounds on what a run reads are in
 * bounds.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../cli/local/jupyter-server.js';
import { startFunctionServer, type FunctionServer } from '../helpers/functions-framework.js';
import { startTestServer, type TestServer } from '../helpers/jupyter.js';
import { check, deliver as deliverTo, exists, type Delivery } from './bounds-common.js';
import { T } from './common.js';

let server: TestServer;
let ff: FunctionServer;

before(async () => {
  server = await startTestServer();
  ff = await startFunctionServer({
    env: {
      JUPYTER_TOKEN: server.token,
      ALLOWED_OUTPUTS: `gs://allowed-bucket/reports server://${server.hostPort}/allowed`,
    },
  });
});
after(async () => {
  await ff?.stop();
  await server?.close();
});

const deliver = (fn: FunctionServer, message: Record<string, unknown>): Promise<Delivery> =>
  deliverTo(server, fn, message);

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
