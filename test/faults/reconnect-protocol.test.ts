/**
 * The reconnect decisions, against a scripted kernel WebSocket (the real server shows these
 * only by chance): same session id on every connection; messages delivered twice after a
 * reconnect are dropped by msg_id; a request that may have been lost in the cut is never sent
 * again (the barrier settles it: KERNEL_DIED naming the cell); requests not yet sent when the
 * channel dropped (sequential mode) are sent on the new channel; a dead kernel or a server that
 * keeps refusing the upgrade ends the run with KERNEL_DIED in bounded time.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { KernelChannel } from '../../functions/jupyter/channel.js';
import { executeCells, type ExecuteOptions, type ExecuteResult } from '../../functions/jupyter/executor.js';
import { createReconnector, type KernelState } from '../../functions/jupyter/reconnect.js';
import type { PlannedCell } from '../../functions/notebook/model.js';
import { startFakeKernelServer, type FakeKernelHooks, type FakeKernelServer } from '../helpers/fake-kernel-server.js';
import { recordRow } from './common.js';

const T = { timeout: 30_000 };
let srv: FakeKernelServer | undefined;
const opened: KernelChannel[] = [];

afterEach(async () => {
  for (const c of opened.splice(0)) c.close();
  await srv?.close();
  srv = undefined;
});

function cells(n: number): PlannedCell[] {
  return Array.from({ length: n }, (_, i) => ({ index: i, source: `c${i}`, skip: false, allowError: false }));
}

/** Runs `n` cells against a fake server with `hooks`, reconnecting through the real reconnector. */
async function run(
  n: number,
  hooks: FakeKernelHooks,
  o: { state?: () => KernelState; sequential?: boolean; attempts?: number } = {},
): Promise<ExecuteResult & { seconds: number }> {
  srv = await startFakeKernelServer(hooks);
  const server = { host: '127.0.0.1', port: srv.port, secure: false };
  const session = randomUUID();
  const connect = async (signal: AbortSignal): Promise<KernelChannel> => {
    const ch = await KernelChannel.connect({
      server,
      kernelId: 'k1',
      sessionId: session,
      headers: {},
      signal,
      connectTimeoutMs: 5000,
    });
    opened.push(ch);
    return ch;
  };
  const reconnect = createReconnector({
    connect,
    kernelState: async () => o.state?.() ?? { state: 'alive', executionState: 'busy' },
    attempts: o.attempts ?? 4,
    baseMs: 20,
    maxMs: 100,
  });
  const t0 = Date.now();
  const opts: ExecuteOptions = {
    session,
    maxOutputChars: 1e6,
    reconnect,
    sequential: o.sequential,
    cellTimeoutMs: 10_000,
  };
  const result = await executeCells(await connect(AbortSignal.timeout(5000)), cells(n), opts);
  return { ...result, seconds: (Date.now() - t0) / 1000 };
}

function text(r: ExecuteResult, cell: number): string {
  return r.outputs
    .outputs(cell)
    .map((o) => String((o as { text?: unknown }).text ?? ''))
    .join('');
}

/** How many times the fake received an execute_request for each cell's code. */
function executions(s: FakeKernelServer): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { msg } of s.requests) {
    if (msg.header.msg_type === 'execute_request') {
      const code = String((msg.content as { code: string }).code);
      out[code] = (out[code] ?? 0) + 1;
    }
  }
  return out;
}

describe('reconnect decisions (scripted kernel WebSocket)', () => {
  test(
    'a drop after cell 0, then a replay that repeats what was already delivered: every output once, same session',
    T,
    async () => {
      const r = await run(3, {
        onRequest: (req, conn, s) => {
          if (conn !== 0 || req.header.msg_type !== 'execute_request') return;
          if ((req.content as { code: string }).code === 'c0') {
            // Answer c0, then drop; keep c1/c2 as "buffered" for the replay on the next connection.
            for (const m of s.answers(req)) s.send(0, m);
            setTimeout(() => s.connections[0]!.ws.close(1001, 'going away'), 20);
            return false;
          }
          return false;
        },
        onOpen: (conn, s) => {
          if (conn !== 1) return;
          // Replay: the last two messages of connection 0 again (duplicates), then c1 and c2's answers.
          const first = s.connections[0]!.sent;
          for (const m of first.slice(-2)) s.send(1, m);
          for (const { msg } of s.requests.filter(
            (q) =>
              q.conn === 0 &&
              q.msg.header.msg_type === 'execute_request' &&
              (q.msg.content as { code: string }).code !== 'c0',
          )) {
            for (const m of s.answers(msg)) s.send(1, m);
          }
        },
      });
      assert.equal(r.failure, undefined, r.failure?.message);
      assert.deepEqual(
        r.cells.map((c) => c.status),
        ['ok', 'ok', 'ok'],
      );
      assert.deepEqual(
        [0, 1, 2].map((i) => text(r, i)),
        ['out:c0\n', 'out:c1\n', 'out:c2\n'],
        'no output twice, none lost',
      );
      assert.equal(r.reconnects, 1);
      assert.ok(
        r.warnings.some((w) => /2 duplicate kernel message/.test(w)),
        JSON.stringify(r.warnings),
      );
      assert.deepEqual(
        new Set(srv!.connections.map((c) => c.sessionId)).size,
        1,
        'the same session id on every connection',
      );
      assert.deepEqual(executions(srv!), { c0: 1, c1: 1, c2: 1 }, 'nothing was sent twice');
      const dropped = r.warnings.filter((w) => /duplicate/.test(w)).length > 0;
      recordRow({
        fault: 'replay repeats delivered messages (scripted)',
        expected: 'succeeded, duplicates dropped',
        observed: `succeeded, ${dropped ? 'duplicates dropped' : 'duplicates kept'}`,
        seconds: r.seconds,
        kernelsLeft: 'n/a',
      });
    },
  );

  test(
    'a request lost in the cut is not resent: the barrier shows it never ran → KERNEL_DIED naming the cell',
    T,
    async () => {
      const r = await run(3, {
        onRequest: (req, conn, s) => {
          if (conn !== 0 || req.header.msg_type !== 'execute_request') return;
          const code = (req.content as { code: string }).code;
          if (code === 'c0') return; // answered normally
          // c1 and c2 "reached the socket but not the kernel": swallow them, drop the connection.
          if (code === 'c2') setTimeout(() => s.connections[0]!.ws.terminate(), 50);
          return false;
        },
      });
      assert.equal(r.failure?.code, 'KERNEL_DIED');
      assert.match(r.failure!.message, /cell 1 .*never started.*not resent/);
      assert.deepEqual(r.failure!.details.lostCells, [1, 2]);
      assert.deepEqual(
        r.cells.map((c) => c.status),
        ['ok', 'aborted', 'aborted'],
      );
      assert.deepEqual(executions(srv!), { c0: 1, c1: 1, c2: 1 }, 'c1 and c2 were never sent again');
      assert.ok(
        srv!.requests.some((q) => q.conn === 1 && q.msg.header.msg_type === 'kernel_info_request'),
        'a barrier went out on the new channel',
      );
      recordRow({
        fault: 'request lost in the cut (scripted)',
        expected: 'KERNEL_DIED, not resent',
        observed: `${r.failure?.code}, c1 sent ${executions(srv!).c1}x`,
        seconds: r.seconds,
        kernelsLeft: 'n/a',
      });
    },
  );

  test('sequential: the cell not yet sent when the channel dropped is sent on the new channel, once', T, async () => {
    let rest: ReturnType<FakeKernelServer['answers']> = [];
    const r = await run(
      3,
      {
        onRequest: (req, conn, s) => {
          if (req.header.msg_type !== 'execute_request' || conn !== 0) return;
          if ((req.content as { code: string }).code === 'c1') {
            // c1 starts and prints, then the connection drops; its reply and idle come in the replay.
            const all = s.answers(req);
            for (const m of all.slice(0, 3)) s.send(conn, m);
            rest = all.slice(3);
            setTimeout(() => s.connections[conn]!.ws.terminate(), 20);
            return false;
          }
        },
        onOpen: (conn, s) => {
          if (conn === 1) for (const m of rest) s.send(1, m);
        },
      },
      { sequential: true },
    );
    assert.equal(r.failure, undefined, r.failure?.message);
    assert.deepEqual(executions(srv!), { c0: 1, c1: 1, c2: 1 });
    assert.equal(text(r, 1), 'out:c1\n');
    assert.ok(
      srv!.requests.some((q) => q.conn === 1 && (q.msg.content as { code?: string }).code === 'c2'),
      'c2 went out on the new connection',
    );
    assert.equal(r.reconnects, 1);
  });

  test('the kernel is dead when the runner comes back: KERNEL_DIED at once, no new connection', T, async () => {
    const r = await run(
      2,
      {
        onRequest: (req, conn, s) => {
          if (req.header.msg_type === 'execute_request' && (req.content as { code: string }).code === 'c0') {
            setTimeout(() => s.connections[conn]!.ws.terminate(), 20);
            return false;
          }
          return false;
        },
      },
      { state: () => ({ state: 'dead' }) },
    );
    assert.equal(r.failure?.code, 'KERNEL_DIED');
    assert.match(r.failure!.message, /dead/);
    assert.equal(srv!.connections.length, 1);
    assert.ok(r.seconds < 5);
  });

  test('a server that keeps refusing the upgrade (503): KERNEL_DIED after the bounded attempts', T, async () => {
    const r = await run(
      2,
      {
        refuseUpgrade: (n) => (n > 0 ? 503 : undefined),
        onRequest: (req, conn, s) => {
          if (req.header.msg_type === 'execute_request') {
            setTimeout(() => s.connections[conn]!.ws.terminate(), 20);
            return false;
          }
        },
      },
      { attempts: 3 },
    );
    assert.equal(r.failure?.code, 'KERNEL_DIED');
    assert.match(r.failure!.message, /not restored after 3 reconnect attempt.*503/);
    assert.equal(srv!.attempts, 4, 'one connection and three refused attempts');
    assert.ok(r.seconds < 5);
    recordRow({
      fault: 'upgrade refused on every reconnect (scripted)',
      expected: 'KERNEL_DIED after 3 attempts',
      observed: `${r.failure?.code} after ${srv!.attempts - 1} attempts`,
      seconds: r.seconds,
      kernelsLeft: 'n/a',
    });
  });
});
