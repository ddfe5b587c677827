/**
 * The execution machine on faults, without a socket: channel drops (reconnect, the barrier,
 * duplicates, giving up), kernel death and restarts, cancellation, clipped frames and the
 * server's rate-limit notice. The same decisions the fault tests show against real servers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NbtError } from '../../../../functions/errors.js';
import type { Message } from '../../../../functions/jupyter/messages.js';
import { Harness, KERNEL, msg, reply, status, stream } from './execution-harness.js';

const drop = (): NbtError => new NbtError('KERNEL_DIED', 'kernel channel closed unexpectedly (WebSocket code 1006)');

/** Drops the channel and restores it; returns the barrier request sent on the new channel. */
function reconnect(h: Harness): Message {
  const closed = h.take(h.m.onClose(drop(), h.t));
  assert.deepEqual(h.types(closed), ['reconnect']);
  assert.equal(h.m.link, 'reconnecting');
  const restored = h.take(h.m.onReconnected(h.t));
  assert.deepEqual(h.types(restored), ['send', 'listen']);
  const barrier = restored[0]!.type === 'send' ? restored[0]!.messages[0]! : undefined;
  assert.equal(barrier?.header.msg_type, 'kernel_info_request');
  return barrier!;
}
const passBarrier = (h: Harness, b: Message): void => {
  h.deliver(msg(b, 'shell', 'kernel_info_reply', {}), status(b, 'idle'));
};

describe('execution machine: drops and reconnects', () => {
  it('a close without a reconnector ends the run with KERNEL_DIED at the current cell', () => {
    const h = new Harness(2);
    h.start();
    h.run(h.executes[0]!);
    h.deliver(status(h.executes[1]!, 'busy'));
    h.take(h.m.onClose(drop(), h.t));
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure?.code, 'KERNEL_DIED');
    assert.equal(h.m.result.failure?.retryable, false); // a cell had started: never redelivered
    assert.deepEqual(
      h.m.result.cells.map((c) => c.status),
      ['ok', 'error'],
    );
  });

  it('a protocol error keeps its verdict (a frame over the limit stays too big)', () => {
    const h = new Harness(1, { canReconnect: true });
    h.start();
    h.take(h.m.onClose(new NbtError('PROTOCOL_ERROR', 'too big', { retryable: false }), h.t));
    assert.equal(h.m.result.failure?.code, 'PROTOCOL_ERROR');
    assert.equal(h.m.result.failure?.retryable, false);
  });

  it('drops replayed duplicates by msg_id and resumes', () => {
    const h = new Harness(2, { canReconnect: true });
    h.start();
    const [a, b] = h.executes;
    const early = [status(a!, 'busy'), stream(a!, 'x')];
    h.deliver(...early);
    const barrier = reconnect(h);
    h.deliver(...early); // the server replays what it buffered, overlapping what came through
    h.deliver(reply(a!, 'ok'), status(a!, 'idle'));
    h.run(b!); // the kernel answers in order: b before the barrier
    passBarrier(h, barrier);
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure, undefined);
    assert.equal(h.m.result.reconnects, 1);
    assert.equal(h.m.result.outputs.outputs(0).length, 1);
    assert.match(h.m.result.warnings.join('\n'), /2 duplicate kernel message\(s\) ignored/);
    assert.match(h.m.result.warnings.join('\n'), /reconnected with the same session/);
  });

  it('a request sent before the drop and never answered is not resent: the barrier ends the run', () => {
    const h = new Harness(2, { canReconnect: true });
    h.start();
    const [a] = h.executes;
    h.run(a!);
    const barrier = reconnect(h);
    h.take(h.m.onListening(h.t, true));
    passBarrier(h, barrier);
    assert.equal(h.finished, true);
    assert.equal(h.executes.length, 2, 'nothing sent twice');
    assert.equal(h.m.result.failure?.code, 'KERNEL_DIED');
    assert.deepEqual(h.m.result.failure?.details.lostCells, [1]);
    assert.match(h.m.result.failure!.message, /cell 1 .*never started.*cannot run twice/);
  });

  it('sequential: a request not yet sent when the channel dropped goes on the new channel', () => {
    const h = new Harness(2, { canReconnect: true, sequential: true });
    h.start();
    const [a] = h.executes;
    h.deliver(status(a!, 'busy'));
    const barrier = reconnect(h);
    h.deliver(reply(a!, 'ok'), status(a!, 'idle')); // settles while the barrier is pending: sends cell 1
    h.take(h.m.onListening(h.t, true));
    passBarrier(h, barrier);
    assert.equal(h.executes.length, 2);
    h.run(h.executes[1]!);
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure, undefined);
  });

  it('nothing is sent while the channel is down', () => {
    const h = new Harness(2, { canReconnect: true, sequential: true });
    h.start();
    h.take(h.m.onClose(drop(), h.t));
    h.deliver(reply(h.executes[0]!, 'ok'), status(h.executes[0]!, 'idle')); // a late frame from the old socket
    assert.equal(h.executes.length, 1);
  });

  it('gives up after maxReconnects drops', () => {
    const h = new Harness(1, { canReconnect: true, maxReconnects: 2 });
    h.start();
    for (let i = 0; i < 2; i++) reconnect(h);
    h.take(h.m.onClose(drop(), h.t));
    assert.equal(h.finished, true);
    assert.match(h.m.result.failure!.message, /dropped 3 times, giving up/);
  });

  it('a reconnector that fails: SERVER_UNREACHABLE before any cell started, KERNEL_DIED after', () => {
    const before = new Harness(1, { canReconnect: true });
    before.start();
    before.take(before.m.onClose(drop(), before.t));
    before.take(before.m.onReconnectFailed(new NbtError('SERVER_UNREACHABLE', 'refused'), before.t));
    assert.equal(before.m.result.failure?.code, 'SERVER_UNREACHABLE');
    const after = new Harness(1, { canReconnect: true });
    after.start();
    after.deliver(status(after.executes[0]!, 'busy'));
    after.take(after.m.onClose(drop(), after.t));
    after.take(after.m.onReconnectFailed(new NbtError('SERVER_UNREACHABLE', 'refused'), after.t));
    assert.equal(after.m.result.failure?.code, 'KERNEL_DIED');
  });

  it('a finished run ignores every later event (a reconnect that fails after the end changes nothing)', () => {
    const h = new Harness(1, { canReconnect: true });
    h.start();
    h.run(h.executes[0]!);
    assert.deepEqual(h.m.onReconnectFailed(new Error('aborted'), h.t), []);
    assert.deepEqual(h.m.onTimer('deadline', h.t), []);
    assert.equal(h.m.result.cells[0]!.status, 'ok');
  });
});

describe('execution machine: kernel death, cancellation', () => {
  for (const state of ['dead', 'restarting']) {
    it(`status ${state} ends the run with KERNEL_DIED`, () => {
      const h = new Harness(1);
      h.start();
      h.deliver(status(h.executes[0]!, state));
      assert.equal(h.m.result.failure?.code, 'KERNEL_DIED');
      assert.equal(h.m.result.cells[0]!.status, 'error');
    });
  }

  it('a shutdown_reply on iopub (another client or the server) is KERNEL_DIED, not a KeyboardInterrupt', () => {
    const h = new Harness(1);
    h.start();
    h.deliver(msg('other', 'iopub', 'shutdown_reply', { restart: true }));
    assert.match(h.m.result.failure!.message, /kernel was restarted by the server or another client/);
  });

  it(
    'a KeyboardInterrupt nbtrigger did not send (a server shutting down interrupts first) ' +
      'is KERNEL_DIED, not a cell error',
    () => {
      const h = new Harness(2);
      h.start();
      const [a] = h.executes;
      h.run(a!);
      h.deliver(status(h.executes[1]!, 'busy'), reply(h.executes[1]!, 'error', { ename: 'KeyboardInterrupt' }));
      assert.equal(h.m.result.failure?.code, 'KERNEL_DIED');
      assert.equal(h.m.result.failure?.details.cellIndex, 1);
      assert.match(h.m.result.failure!.message, /interrupted from outside the run/);
    },
  );

  it('a new kernel session answering means another kernel process: KERNEL_DIED', () => {
    const h = new Harness(2);
    h.start();
    const [a, b] = h.executes;
    h.run(a!);
    h.deliver(status(b!, 'busy', `${KERNEL}-2`));
    assert.equal(h.m.result.failure?.code, 'KERNEL_DIED');
    assert.match(h.m.result.failure!.message, /a new kernel process answers/);
  });

  it('cancellation without an interrupt is CANCELLED at the current cell, at once', () => {
    const h = new Harness(2);
    h.start();
    h.deliver(status(h.executes[0]!, 'busy'));
    h.take(h.m.onAbort(h.t));
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure?.code, 'CANCELLED');
    assert.equal(h.m.result.failure?.details.cellIndex, 0);
  });

  it('cancellation interrupts the running cell and keeps what it printed up to its KeyboardInterrupt', () => {
    const h = new Harness(2, { canInterrupt: true, graceMs: 900 });
    h.start();
    const [a, b] = h.executes;
    h.deliver(status(a!, 'busy'));
    const fired = h.take(h.m.onAbort(h.t, 'stopped by SIGTERM'));
    assert.deepEqual(h.types(fired), ['interrupt', 'set-timer']);
    assert.deepEqual(fired[1], { type: 'set-timer', timer: 'grace', ms: 900 });
    assert.equal(h.finished, false, "the interrupted cell's last output is awaited");
    // Printed before the cancel, delivered after it: iopub keeps it ahead of the cell's idle.
    h.deliver(stream(a!, 'partial'), stream(a!, 'KeyboardInterrupt'));
    h.deliver(reply(a!, 'error', { ename: 'KeyboardInterrupt' }), reply(b!, 'aborted'));
    assert.equal(h.finished, false);
    h.deliver(status(a!, 'idle'));
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure?.code, 'CANCELLED');
    assert.equal(h.m.result.failure?.message, 'stopped by SIGTERM');
    assert.equal(h.m.result.failure?.details.cellIndex, 0);
    assert.equal(h.m.result.interrupted, true);
    assert.match(JSON.stringify(h.m.result.outputs.outputs(0)), /partial.*KeyboardInterrupt/);
    assert.deepEqual(
      h.m.result.cells.map((x) => x.status),
      ['aborted', 'aborted'],
    );
  });

  it("a cancellation the kernel does not answer ends at the grace; one during a timeout's grace keeps TIMEOUT", () => {
    const h = new Harness(1, { canInterrupt: true });
    h.start();
    h.deliver(status(h.executes[0]!, 'busy'));
    h.take(h.m.onAbort(h.t));
    h.take(h.m.onTimer('grace', h.t));
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure?.code, 'CANCELLED');

    const t = new Harness(1, { canInterrupt: true, cellTimeoutMs: 10 });
    t.start();
    t.take(t.m.onTimer('cell:1', t.t));
    assert.equal(t.finished, false);
    t.take(t.m.onAbort(t.t));
    assert.equal(t.finished, true, 'a second stop does not wait again');
    assert.equal(t.m.result.failure?.code, 'TIMEOUT');
  });

  it('a cancellation before any request reached the socket ends at once, nothing interrupted', () => {
    const h = new Harness(2, { canInterrupt: true });
    h.start(false);
    assert.equal(h.executes.length, 0);
    h.take(h.m.onAbort(h.t));
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure?.code, 'CANCELLED');
    assert.equal(h.types().includes('interrupt'), false);
  });
});

describe('execution machine: outputs', () => {
  it('a clipped frame is redacted at its cut and truncates the cell', () => {
    const token = 'secret-token-123456';
    const h = new Harness(1, { secrets: [token] });
    h.start();
    const [a] = h.executes;
    const clipped = stream(a!, `data ${token.slice(0, 9)}`);
    clipped.clipped = true;
    h.deliver(status(a!, 'busy'), clipped);
    const text = JSON.stringify(h.m.result.outputs.outputs(0));
    assert.doesNotMatch(text, /secret-to/);
    assert.ok(h.m.result.outputs.truncated(0));
    assert.equal(h.m.discardable(stream(a!, 'more')), true, 'a truncated cell keeps no more text');
  });

  it('discardable: a frame for no pending cell, or a done one, need not be decoded', () => {
    const h = new Harness(2);
    h.start();
    const [a, b] = h.executes;
    assert.equal(h.m.discardable(stream(b!, 'x')), false);
    h.run(a!);
    assert.equal(h.m.discardable(stream(a!, 'x')), true);
    assert.equal(h.m.discardable(msg('nobody', 'iopub', 'stream', { text: 'x' })), true);
  });

  it("warns once per cell about the server's iopub rate limit", () => {
    const h = new Harness(1);
    h.start();
    const [a] = h.executes;
    const notice = 'IOPub data rate exceeded.\nThe Jupyter server will temporarily stop sending output';
    h.deliver(status(a!, 'busy'), stream(a!, notice), stream(a!, notice));
    assert.equal(h.m.result.warnings.filter((w) => /rate limit/.test(w)).length, 1);
  });
});
