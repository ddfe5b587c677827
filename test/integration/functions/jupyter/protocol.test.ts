/**
 * Integration: the kernel protocol facts the executor relies on, checked against the real
 * Jupyter Server + ipykernel on this machine (no mocks), and the executor run over that channel.
 *
 * Facts (jupyter_server 1.23, ipykernel 6.17): output may arrive after the execute_reply, and the
 * iopub idle may arrive before it, so a cell is done only with both; every iopub message of a
 * request precedes its idle; after an error the queued requests get `aborted` replies without
 * an execution count (ipykernel 6 also sends busy/idle for each); a killed
 * kernel shows as `status: restarting` with an empty parent header; a client that reconnects
 * with the same session_id gets the messages buffered while it was away.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { IStream } from '@jupyterlab/nbformat';
import { KernelChannel } from '../../../../functions/jupyter/channel.js';
import { executeCells } from '../../../../functions/jupyter/executor.js';
import { executeRequest, makeRequest, parentId, type Message } from '../../../../functions/jupyter/messages.js';
import { JupyterRest } from '../../../../functions/jupyter/rest.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';
import { withKernelChannel } from '../../../helpers/kernel-channel.js';

const T = { timeout: 40_000 };

/**
 * Deletes a kernel the server may be restarting: Jupyter Server 1.x answers 500 to a DELETE that
 * lands during the restart, and later ones succeed. Resolves with each attempt's answer; throws
 * the last failure after 15 s.
 */
async function deleteWhileRestarting(rest: JupyterRest, kernelId: string): Promise<string[]> {
  const statuses: string[] = [];
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      await rest.deleteKernel(kernelId);
      statuses.push('ok');
      return statuses;
    } catch (e) {
      statuses.push(String((e as { details?: { status?: number } }).details?.status ?? (e as Error).message));
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

let server: TestServer;
let rest: JupyterRest;

before(async () => {
  server = await startTestServer();
  rest = new JupyterRest({ server: server.address, token: server.token });
});
after(async () => {
  await rest?.close();
  await server?.close();
});

/** A kernel and an open channel for one test; deleted (and checked gone) afterwards. */
function withChannel(body: (ch: KernelChannel, session: string, kernelId: string) => Promise<void>): Promise<void> {
  return withKernelChannel(server, rest, body);
}

/** Collects every message until `done` says so; rejects on close or after `ms`. */
function collect(ch: KernelChannel, done: (all: Message[]) => boolean, ms = 15_000): Promise<Message[]> {
  const all: Message[] = [];
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms with ${all.length} messages`)), ms);
    ch.listen(
      (m) => {
        all.push(m);
        if (done(all)) {
          clearTimeout(t);
          resolve(all);
        }
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

const isIdle = (m: Message, id: string): boolean =>
  m.header.msg_type === 'status' && m.content.execution_state === 'idle' && parentId(m) === id;
const isReply = (m: Message, id: string): boolean => m.header.msg_type === 'execute_reply' && parentId(m) === id;
const bothArrived =
  (ids: string[]) =>
  (all: Message[]): boolean =>
    ids.every((id) => all.some((m) => isIdle(m, id)) && all.some((m) => isReply(m, id)));

describe('kernel protocol facts', () => {
  test('pipelined requests after an error are answered "aborted"; ipykernel 6 adds busy/idle for each', T, async () => {
    await withChannel(async (ch, session) => {
      const info = makeRequest(session, 'kernel_info_request', {});
      const reqs = ['x = 1', '1/0', 'x = 2', 'print("never")'].map((code) => executeRequest(session, code));
      const ids = reqs.map((r) => r.header.msg_id);
      const done = collect(
        ch,
        (all) => bothArrived(ids)(all) && all.some((m) => m.header.msg_type === 'kernel_info_reply'),
      );
      ch.send(info);
      ch.sendAll(reqs);
      const all = await done;
      const version = String(
        all.find((m) => m.header.msg_type === 'kernel_info_reply')!.content.implementation_version ?? '',
      );
      const reply = (id: string): Message => all.find((m) => isReply(m, id))!;
      assert.deepEqual(
        ids.map((id) => reply(id).content.status),
        ['ok', 'error', 'aborted', 'aborted'],
      );
      assert.equal(reply(ids[1]!).content.ename, 'ZeroDivisionError');
      for (const id of ids.slice(2)) {
        assert.equal(reply(id).content.execution_count, undefined, 'an aborted reply carries no execution count');
        assert.ok(
          !all.some((m) => parentId(m) === id && m.header.msg_type === 'execute_input'),
          'an aborted request never executes',
        );
        if (version.startsWith('6.')) {
          // busy and idle share the iopub socket (ordered); the reply travels on shell, so its place varies.
          const iopub = all
            .filter((m) => parentId(m) === id && m.channel === 'iopub')
            .map((m) => String(m.content.execution_state));
          assert.deepEqual(iopub, ['busy', 'idle'], `ipykernel ${version}: aborted request ${id}`);
        }
      }
      // The server's own kernel_info probes at connect also produce busy/idle: parents that are not ours.
      const ours = new Set([...ids, info.header.msg_id]);
      const foreign = all.filter((m) => m.header.msg_type === 'status' && !ours.has(parentId(m) ?? ''));
      for (const m of foreign) assert.ok(['busy', 'idle', 'starting'].includes(String(m.content.execution_state)));
    });
  });

  test('output can follow the execute_reply, idle can precede it; idle always follows the output', T, async (t) => {
    await withChannel(async (ch, session) => {
      const reqs = Array.from({ length: 60 }, (_, i) => executeRequest(session, `print(${i}, "x" * 100_000)`));
      const ids = reqs.map((r) => r.header.msg_id);
      const done = collect(ch, bothArrived(ids));
      ch.sendAll(reqs);
      const all = await done;
      let outputAfterReply = 0;
      let idleBeforeReply = 0;
      for (const [i, id] of ids.entries()) {
        const at = (pred: (m: Message) => boolean): number => all.findIndex(pred);
        const reply = at((m) => isReply(m, id));
        const idle = at((m) => isIdle(m, id));
        const streams = all.flatMap((m, k) => (parentId(m) === id && m.header.msg_type === 'stream' ? [k] : []));
        assert.ok(streams.length > 0, `cell ${i} has output`);
        assert.ok(
          streams.every((k) => k < idle),
          `cell ${i}: every output precedes idle`,
        );
        const text = streams.map((k) => String(all[k]!.content.text)).join('');
        assert.equal(text, `${i} ${'x'.repeat(100_000)}\n`);
        if (streams.some((k) => k > reply)) outputAfterReply++;
        if (idle < reply) idleBeforeReply++;
      }
      t.diagnostic(
        `of 60 cells: output after execute_reply in ${outputAfterReply}, ` +
          `idle before execute_reply in ${idleBeforeReply}`,
      );
    });
  });

  test('the executor keeps every output whatever the order (pipelined, large outputs)', T, async () => {
    await withChannel(async (ch, session) => {
      const cells = Array.from({ length: 60 }, (_, i) => ({
        index: i,
        source: `print(${i}, "y" * 50_000)\n${i}`,
        skip: false,
        allowError: false,
      }));
      const res = await executeCells(ch, cells, { session, maxOutputChars: 1_000_000, cellTimeoutMs: 20_000 });
      assert.equal(res.failure, undefined, res.failure?.message);
      assert.ok(res.languageInfo && res.languageInfo.name === 'python');
      for (const c of cells) {
        const outs = res.outputs.outputs(c.index);
        assert.deepEqual(
          outs.map((o) => o.output_type),
          ['stream', 'execute_result'],
          `cell ${c.index}`,
        );
        assert.equal((outs[0] as IStream).text, `${c.index} ${'y'.repeat(50_000)}\n`);
        assert.equal(res.cells[c.index]!.executionCount, c.index + 1);
        assert.equal(res.cells[c.index]!.status, 'ok');
      }
      assert.equal(res.started, 60);
    });
  });

  test(
    'a killed kernel shows as status "restarting" with an empty parent header; DELETE then may answer 500',
    T,
    async (t) => {
      const removeDead = async (id: string): Promise<void> => {
        const statuses = await deleteWhileRestarting(rest, id);
        t.diagnostic(`DELETE right after the death: ${statuses.join(' → ')}`);
      };
      await withKernelChannel(
        server,
        rest,
        async (ch, session) => {
          const req = executeRequest(session, 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)');
          const done = collect(ch, (all) =>
            all.some((m) => m.header.msg_type === 'status' && m.content.execution_state === 'restarting'),
          );
          ch.send(req);
          const all = await done;
          const restarting = all.find((m) => m.content.execution_state === 'restarting')!;
          assert.equal(restarting.channel, 'iopub');
          assert.equal(parentId(restarting), undefined);
          assert.ok(!all.some((m) => isReply(m, req.header.msg_id)), 'the dying request gets no reply');
        },
        removeDead,
      );
    },
  );

  test('a client that reconnects with the same session_id receives what it missed', T, async () => {
    const kernel = await rest.startKernel('python3');
    const session = randomUUID();
    const connect = (): Promise<KernelChannel> =>
      KernelChannel.connect({ server: server.address, kernelId: kernel.id, sessionId: session, headers: rest.headers });
    try {
      const first = await connect();
      const req = executeRequest(session, 'import time\ntime.sleep(1)\nprint("while away")\n"result"');
      const busy = collect(first, (all) =>
        all.some((m) => m.content.execution_state === 'busy' && parentId(m) === req.header.msg_id),
      );
      first.send(req);
      await busy;
      first.close();
      await new Promise((r) => setTimeout(r, 1500));
      const second = await connect();
      const all = await collect(second, bothArrived([req.header.msg_id]));
      second.close();
      const mine = all.filter((m) => parentId(m) === req.header.msg_id).map((m) => m.header.msg_type);
      assert.ok(
        mine.includes('stream') && mine.includes('execute_result') && mine.includes('execute_reply'),
        mine.join(','),
      );
    } finally {
      await rest.deleteKernel(kernel.id);
      assert.deepEqual(await server.kernels(), []);
    }
  });
});
