/**
 * The outcome table of docs/outcomes.md, its first phases, with real faults against the real
 * local Jupyter Server: a cancel (abort signal), the server gone, stopped (SIGTERM) or killed
 * (SIGKILL), the kernel restarted by another client or killed (SIGKILL):
 *
 *  - waiting for the server: the server answers 503 through a TCP proxy; the fault comes once the
 *    runner has asked (the proxy accepted a connection);
 *  - kernel starting: the kernel runs a gated kernelspec whose launcher waits for a gate file;
 *    the fault comes once the kernel process is launched and waiting (it wrote its pid). The
 *    server holds the channel's handshake until the kernel answers, so this phase covers the
 *    kernel start request and the channel connecting.
 *
 * Every wait is on an event (a file, a connection, a returned promise), never on a time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alive, httpRequestStarted, until } from '../helpers/events.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { kernelsLeft, requestFor, T, timedRun } from './common.js';
import { assertNothingRan, gateAndServer, restartKernel, row } from './phases-common.js';

describe('phase: waiting for the server (before the kernel start request)', () => {
  test('cancel: CANCELLED (ack), no kernel started', T, async () => {
    const { server } = await gateAndServer(false);
    const nb = await server.writeNotebook('wait-cancel.ipynb', ['1']);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: server.address.port });
    proxy.unavailableUntil(Infinity);
    try {
      const ctl = new AbortController();
      void until(() => proxy.accepted > 0 || ctl.signal.aborted).then(() => ctl.abort());
      const out = await timedRun({ request: requestFor(proxy.hostPort, nb), token: server.token, signal: ctl.signal });
      ctl.abort();
      assert.equal(out.record.error?.code, 'CANCELLED', JSON.stringify(out.record.error));
      assert.equal(out.record.error?.retryable, false);
      const left = await kernelsLeft(server);
      assert.equal(left, 0);
      row('cancel', 'waiting for the server', 'CANCELLED (ack)', out, left);
    } finally {
      await proxy.close();
    }
  });

  test('server gone: SERVER_UNREACHABLE (retry) at the start timeout', T, async () => {
    const { server } = await gateAndServer(false);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: server.address.port });
    proxy.refuseUntil(Infinity);
    try {
      const out = await timedRun({
        request: requestFor(proxy.hostPort, 'x.ipynb'),
        token: server.token,
        limits: { startTimeoutMs: 2000 },
      });
      assert.equal(out.record.error?.code, 'SERVER_UNREACHABLE');
      assert.equal(out.record.error?.retryable, true);
      assert.match(out.record.error!.message, /start timeout/);
      row('server gone', 'waiting for the server', 'SERVER_UNREACHABLE (retry)', out, 'n/a');
    } finally {
      await proxy.close();
    }
  });
});

describe('phase: kernel starting (launched, not yet answering; the channel handshake waits for it)', () => {
  test('cancel: CANCELLED (ack), the starting kernel deleted', T, async () => {
    const { gate, server } = await gateAndServer(true);
    try {
      const nb = await server.writeNotebook('start-cancel.ipynb', ['1']);
      const ctl = new AbortController();
      void gate.launched().then(() => ctl.abort());
      const out = await timedRun({
        request: requestFor(server.hostPort, nb, { kernelName: gate.name }),
        token: server.token,
        signal: ctl.signal,
      });
      await gate.open();
      assert.equal(out.record.error?.code, 'CANCELLED', JSON.stringify(out.record.error));
      assert.equal(out.record.error?.retryable, false);
      assert.equal(out.record.cells.executed, 0);
      const left = await kernelsLeft(server);
      assert.equal(left, 0);
      row('cancel', 'kernel starting', 'CANCELLED (ack)', out, left);
    } finally {
      await server.close();
    }
  });

  test('cancel while the channel handshake waits for the kernel: CANCELLED (ack), the kernel deleted', T, async () => {
    const { gate, server } = await gateAndServer(true);
    try {
      const nb = await server.writeNotebook('connect-cancel.ipynb', ['1']);
      const ctl = new AbortController();
      // The runner's upgrade request has started; the server holds it until the gated kernel answers.
      void Promise.all([gate.launched(), httpRequestStarted(/\/api\/kernels\/[^/]+\/channels/)]).then(() =>
        ctl.abort(),
      );
      const out = await timedRun({
        request: requestFor(server.hostPort, nb, { kernelName: gate.name }),
        token: server.token,
        signal: ctl.signal,
      });
      await gate.open();
      assert.equal(out.record.error?.code, 'CANCELLED', JSON.stringify(out.record.error));
      assert.equal(out.record.error?.retryable, false);
      assert.equal(out.record.cells.executed, 0);
      const left = await kernelsLeft(server);
      assert.equal(left, 0);
      row('cancel', 'channel connecting', 'CANCELLED (ack)', out, left);
    } finally {
      await server.close();
    }
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`server ${signal}: retryable infrastructure error, no cell ran`, T, async () => {
      const { gate, server } = await gateAndServer(true);
      let kernelPid = 0;
      try {
        const nb = await server.writeNotebook('start-away.ipynb', ['1']);
        void gate.launched().then((pid) => {
          kernelPid = pid;
          process.kill(server.child.pid!, signal);
        });
        const out = await timedRun({
          request: requestFor(server.hostPort, nb, { kernelName: gate.name }),
          token: server.token,
        });
        assert.ok(kernelPid > 0);
        assertNothingRan(out);
        row(`server ${signal}`, 'kernel starting', 'SERVER_UNREACHABLE or KERNEL_DIED (retry)', out, 'n/a');
      } finally {
        if (kernelPid && alive(kernelPid)) process.kill(kernelPid, 'SIGKILL');
        await server.close();
      }
    });
  }

  test('restart by another client: the run goes on in the restarted kernel, succeeded', T, async () => {
    const { gate, server } = await gateAndServer(true);
    try {
      const nb = await server.writeNotebook('start-restart.ipynb', ['x = 1', 'x + 1']);
      const restarted = gate.launched(1).then(async () => {
        const status = restartKernel(server);
        try {
          // The replacement is launched: only now may kernels start serving. A restart refused
          // (no replacement comes) ends the wait too, and the gate opens either way: never a hang.
          await Promise.race([gate.launched(2), status]);
        } finally {
          await gate.open();
        }
        return status;
      });
      const out = await timedRun({
        request: requestFor(server.hostPort, nb, { kernelName: gate.name }),
        token: server.token,
      });
      assert.equal(await restarted, 200);
      assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
      assert.deepEqual(out.record.lastResult, { 'text/plain': '2' });
      const left = await kernelsLeft(server);
      assert.equal(left, 0);
      row('kernel restart', 'kernel starting', 'succeeded', out, left);
    } finally {
      await server.close();
    }
  });

  test('kernel killed: the server starts a replacement, the run succeeds in it', T, async () => {
    const { gate, server } = await gateAndServer(true);
    try {
      const nb = await server.writeNotebook('start-kill.ipynb', ['x = 1', 'x + 1']);
      const replaced = gate.launched(1).then(async (pid) => {
        process.kill(pid, 'SIGKILL');
        const next = await gate.launched(2);
        await gate.open();
        return next;
      });
      const out = await timedRun({
        request: requestFor(server.hostPort, nb, { kernelName: gate.name }),
        token: server.token,
      });
      assert.ok((await replaced) > 0);
      assert.equal(out.record.status, 'succeeded', JSON.stringify(out.record.error));
      assert.deepEqual(out.record.lastResult, { 'text/plain': '2' });
      const left = await kernelsLeft(server);
      assert.equal(left, 0);
      row('kernel kill -9', 'kernel starting', 'succeeded (replacement kernel)', out, left);
    } finally {
      await server.close();
    }
  });
});
