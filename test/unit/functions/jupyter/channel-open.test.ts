/**
 * The channel's handshake (channel-open.ts) against the scripted kernel WebSocket: v1 agreed where
 * offered and accepted, the default protocol after a server that answers with no subprotocol (that
 * server remembered), and the frames sent with the upgrade's answer never lost.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, test } from 'node:test';
import { KernelChannel } from '../../../../functions/jupyter/channel.js';
import { makeRequest, parentId, type Message } from '../../../../functions/jupyter/messages.js';
import { startFakeKernelServer, type FakeKernelServer } from '../../../helpers/fake-kernel-server.js';

const T = { timeout: 20_000 };
let srv: FakeKernelServer | undefined;
const opened: KernelChannel[] = [];

afterEach(async () => {
  for (const ch of opened.splice(0)) ch.close();
  await srv?.close();
  srv = undefined;
});

async function open(s: FakeKernelServer): Promise<KernelChannel> {
  const ch = await KernelChannel.connect({
    server: { host: '127.0.0.1', port: s.port, secure: false },
    kernelId: 'k1',
    sessionId: randomUUID(),
    headers: {},
    connectTimeoutMs: 5000,
  });
  opened.push(ch);
  return ch;
}

/** Sends a kernel_info_request and resolves with every message up to its idle status. */
function ask(ch: KernelChannel): Promise<Message[]> {
  const req = makeRequest(randomUUID(), 'kernel_info_request', {});
  const got: Message[] = [];
  return new Promise((resolve, reject) => {
    ch.listen((m) => {
      got.push(m);
      if (m.content.execution_state === 'idle' && parentId(m) === req.header.msg_id) resolve(got);
    }, reject);
    ch.send(req);
  });
}

test('a server that agrees to v1: binary frames both ways, every message on its channel', T, async () => {
  srv = await startFakeKernelServer();
  const ch = await open(srv);
  assert.equal(ch.v1, true);
  const got = await ask(ch);
  assert.deepEqual(
    got.map((m) => `${m.channel}:${m.header.msg_type}`),
    ['iopub:status', 'shell:kernel_info_reply', 'iopub:status'],
  );
  assert.equal(srv.connections[0]!.protocol, 'v1.kernel.websocket.jupyter.org');
  assert.equal(srv.requests[0]!.msg.header.msg_type, 'kernel_info_request');
  assert.equal(srv.attempts, 1);
});

test(
  'a server that answers with no subprotocol: the default protocol, asked once more, then remembered',
  T,
  async () => {
    srv = await startFakeKernelServer({ protocol: 'legacy' });
    const first = await open(srv);
    assert.equal(first.v1, false);
    assert.equal(srv.attempts, 2, 'the v1 offer refused by ws, then the upgrade without it');
    assert.deepEqual(
      (await ask(first)).map((m) => `${m.channel}:${m.header.msg_type}`),
      ['iopub:status', 'shell:kernel_info_reply', 'iopub:status'],
    );
    const second = await open(srv);
    assert.equal(second.v1, false);
    assert.equal(srv.attempts, 3, 'the same server: no second offer');
    assert.equal(srv.connections.at(-1)!.protocol, '');
  },
);

test('frames sent with the upgrade answer reach the listener (v1): none is lost before listen()', T, async () => {
  srv = await startFakeKernelServer({
    onOpen: (conn, s) => {
      const req = makeRequest('replay', 'execute_request', { code: 'x' });
      for (const m of s.answers(req)) s.send(conn, m);
    },
  });
  const ch = await open(srv);
  const types = await new Promise<string[]>((resolve, reject) => {
    const seen: string[] = [];
    ch.listen((m) => {
      seen.push(m.header.msg_type);
      if (seen.length === 5) resolve(seen);
    }, reject);
  });
  assert.deepEqual(types, ['status', 'execute_input', 'stream', 'execute_reply', 'status']);
});
