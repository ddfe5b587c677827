/**
 * Integration: with `deferCleanup` (the CLI and the function write the record while the kernel is
 * deleted), the run's kernel DELETE has been handed to its socket when `runNotebook` returns, so
 * the caller's synchronous work does not hold it back. Real local Jupyter Server; every connection
 * of the run goes through a connector whose sockets record what is written to them.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, test } from 'node:test';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { runNotebook } from '../../../../functions/run/runner.js';
import { createConnector } from '../../../../functions/security/connector.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';
import { LIMITS, T } from './runner-common.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server?.close();
});

/** A connector on net.connect whose sockets note the start of every write. */
function recordingConnector(written: string[]) {
  const recording = ((...args: Parameters<typeof netConnect>) => {
    const socket = netConnect(...(args as [never]));
    const write = socket.write.bind(socket) as (...a: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      written.push(
        Buffer.from(chunk as string)
          .subarray(0, 40)
          .toString('latin1'),
      );
      return write(chunk, ...rest);
    }) as typeof socket.write;
    return socket;
  }) as typeof netConnect;
  return createConnector({ privateOk: true, refuse: (why) => new Error(why), netConnect: recording });
}

test('deferCleanup: the kernel DELETE is written when the run returns, before the caller goes on', T, async () => {
  const written: string[] = [];
  const nb = await server.writeNotebook('deferred-cleanup.ipynb', ['1 + 1']);
  const out = await runNotebook({
    request: parseMessage(`${server.hostPort} /${nb}`),
    token: server.token,
    limits: LIMITS,
    connector: recordingConnector(written),
    deferCleanup: true,
  });
  // Read at once, in the continuation of the await: what the caller's own work would follow.
  const sent = written.filter((w) => w.startsWith('DELETE /api/kernels/')).length;
  const requests = written.filter((w) => /^[A-Z]+ \/api\//.test(w)).map((w) => w.split(' ').slice(0, 2).join(' '));
  await out.cleanup;
  assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
  assert.ok(
    requests.some((r) => r.startsWith('POST /api/kernels')),
    `the run went through the connector: ${requests}`,
  );
  assert.equal(sent, 1, `requests written when runNotebook returned: ${requests.join(', ')}`);
  assert.deepEqual(await server.kernels(), [], 'the kernel is deleted');
});
