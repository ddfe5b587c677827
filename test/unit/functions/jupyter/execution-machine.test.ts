/**
 * The execution machine without a socket or a timer: events in (kernel messages, closes, timers
 * firing, the reconnector's answer), effects out. Covers what the integration and fault tests
 * show against a real kernel: pipelined sends, an error stopping the rest, timeouts and the
 * interrupt's grace, drops with the barrier, kernel death and restarts, clipped frames.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NbtError } from '../../../../functions/errors.js';
import { cells, Harness, msg, reply, status, stream } from './execution-harness.js';

describe('execution machine: sending', () => {
  it('pipelines every request in one write after the kernel_info_request, and finishes when all are done', () => {
    const h = new Harness(3);
    const first = h.start();
    assert.deepEqual(
      first.map((e) => (e.type === 'send' ? e.messages.map((m) => m.header.msg_type) : e.type)),
      [['kernel_info_request'], ['execute_request', 'execute_request', 'execute_request']],
    );
    const [a, b, c] = h.executes;
    h.run(a!);
    h.run(b!);
    assert.equal(h.finished, false);
    h.run(c!);
    assert.equal(h.finished, true);
    assert.deepEqual(
      h.m.result.cells.map((x) => x.status),
      ['ok', 'ok', 'ok'],
    );
    assert.equal(h.m.result.failure, undefined);
    assert.deepEqual(h.effects.filter((e) => e.type === 'progress').length, 6);
    assert.equal(h.m.result.outputs.outputs(1).length, 1);
  });

  it('a cell is done only with both its reply and its idle', () => {
    const h = new Harness(1);
    h.start();
    const [a] = h.executes;
    h.deliver(status(a!, 'busy'), status(a!, 'idle'));
    assert.equal(h.finished, false);
    h.deliver(reply(a!, 'ok'));
    assert.equal(h.finished, true);
  });

  it('sequential: one request at a time, the next once the previous is done', () => {
    const h = new Harness(3, { sequential: true });
    h.start();
    assert.equal(h.executes.length, 1);
    h.run(h.executes[0]!);
    assert.equal(h.executes.length, 2);
    h.run(h.executes[1]!);
    h.run(h.executes[2]!);
    assert.equal(h.finished, true);
  });

  it('a socket that is closing is not written to: the requests wait for the next channel', () => {
    const h = new Harness(2, { canReconnect: true });
    h.start(false);
    assert.equal(h.executes.length, 0);
    h.take(h.m.onClose(new NbtError('KERNEL_DIED', 'closed'), h.t));
    h.take(h.m.onReconnected(h.t));
    h.take(h.m.onListening(h.t, true));
    assert.equal(h.executes.length, 2);
  });

  it('skipped cells are not sent; raises-exception cells are sent with stop_on_error false', () => {
    const list = cells(3);
    list[1]!.skip = true;
    list[2]!.allowError = true;
    const h = new Harness(list);
    h.start();
    assert.deepEqual(
      h.executes.map((m) => m.content.code),
      ['c0', 'c2'],
    );
    assert.equal(h.executes[1]!.content.stop_on_error, false);
    h.run(h.executes[0]!);
    h.run(h.executes[1]!, 'error', { ename: 'E', evalue: 'v' });
    assert.equal(h.m.result.failure, undefined);
    assert.deepEqual(
      h.m.result.cells.map((x) => x.status),
      ['ok', 'skipped', 'error'],
    );
  });
});

describe('execution machine: an error stops the rest', () => {
  it('CELL_ERROR names the cell; the kernel aborts the later ones (no idle needed)', () => {
    const h = new Harness(3);
    h.start();
    const [a, b, c] = h.executes;
    h.run(a!, 'error', { ename: 'ValueError', evalue: 'bad', traceback: ['t'] });
    h.deliver(reply(b!, 'aborted'), reply(c!, 'aborted'));
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure?.code, 'CELL_ERROR');
    assert.equal(h.m.result.failure?.details.cellIndex, 0);
    assert.deepEqual(
      h.m.result.cells.map((x) => x.status),
      ['error', 'aborted', 'aborted'],
    );
    assert.deepEqual(h.m.result.cells[0]!.error, { ename: 'ValueError', evalue: 'bad', traceback: ['t'] });
  });

  it('sequential: nothing more is sent after an error', () => {
    const h = new Harness(3, { sequential: true });
    h.start();
    h.run(h.executes[0]!, 'error', { ename: 'E', evalue: 'v' });
    assert.equal(h.finished, true);
    assert.equal(h.executes.length, 1);
  });

  it('a later cell that ran anyway (after the abort window) is warned about', () => {
    const h = new Harness(2);
    h.start();
    h.run(h.executes[0]!, 'error', { ename: 'E', evalue: 'v' });
    h.run(h.executes[1]!, 'ok');
    assert.match(h.m.result.warnings.join('\n'), /cell 1 ran after an earlier error/);
  });
});

describe('execution machine: timeouts', () => {
  it('arms the head cell, interrupts on its timeout and keeps its last output for the grace', () => {
    const h = new Harness(2, { cellTimeoutMs: 5000, canInterrupt: true, graceMs: 700 });
    assert.ok(h.start().some((e) => e.type === 'set-timer' && e.timer === 'cell:1' && e.ms === 5000));
    const [a] = h.executes;
    h.deliver(status(a!, 'busy'));
    h.t += 5000;
    const fired = h.take(h.m.onTimer('cell:1', h.t));
    assert.deepEqual(h.types(fired), ['interrupt', 'set-timer']);
    assert.deepEqual(fired[1], { type: 'set-timer', timer: 'grace', ms: 700 });
    h.deliver(stream(a!, 'KeyboardInterrupt'), reply(a!, 'error', { ename: 'KeyboardInterrupt' }), status(a!, 'idle'));
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure?.code, 'TIMEOUT');
    assert.equal(h.m.result.interrupted, true);
    assert.deepEqual(
      h.m.result.cells.map((x) => x.status),
      ['timed_out', 'aborted'],
    );
    assert.equal(h.m.result.outputs.outputs(0).length, 1);
  });

  it('the grace timer ends a run whose kernel does not answer the interrupt', () => {
    const h = new Harness(1, { cellTimeoutMs: 10, canInterrupt: true });
    h.start();
    h.take(h.m.onTimer('cell:1', h.t));
    assert.equal(h.finished, false);
    h.take(h.m.onTimer('grace', h.t));
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure?.code, 'TIMEOUT');
  });

  it('without an interrupt a timeout ends the run at once; a settled cell clears its timer', () => {
    const h = new Harness(2, { cellTimeoutMs: 10 });
    h.start();
    const done = h.run(h.executes[0]!);
    assert.ok(done.some((e) => e.type === 'clear-timer' && e.timer === 'cell:1'));
    assert.ok(done.some((e) => e.type === 'set-timer' && e.timer === 'cell:2'));
    h.take(h.m.onTimer('cell:2', h.t));
    assert.equal(h.finished, true);
    assert.match(h.m.result.failure!.message, /cell 1 exceeded its 0\.0 s timeout/);
  });

  it('the run deadline is set from the time left at start and names the current cell', () => {
    const h = new Harness(2, { deadline: 4000 });
    assert.ok(h.start().some((e) => e.type === 'set-timer' && e.timer === 'deadline' && e.ms === 3000));
    h.run(h.executes[0]!);
    h.t += 3000;
    h.take(h.m.onTimer('deadline', h.t));
    assert.equal(h.m.result.failure?.code, 'TIMEOUT');
    assert.equal(h.m.result.failure?.details.cellIndex, 1);
    assert.match(h.m.result.failure!.message, /3\.0 s left at start/);
  });

  it('with no cell: waits for language_info, bounded by the info timer', () => {
    const h = new Harness(0);
    const info = h.start()[0]!;
    assert.ok(info.type === 'send');
    h.deliver(msg(info.messages[0]!, 'shell', 'kernel_info_reply', { language_info: { name: 'python' } }));
    assert.equal(h.finished, true);
    assert.deepEqual(h.m.result.languageInfo, { name: 'python' });
    const silent = new Harness(0, { cellTimeoutMs: 50 });
    assert.ok(silent.start().some((e) => e.type === 'set-timer' && e.timer === 'info' && e.ms === 50));
    silent.take(silent.m.onTimer('info', silent.t));
    assert.equal(silent.finished, true);
  });

  it('a kernel silent until the start limit: KERNEL_DIED, retryable, no cell counted as run', () => {
    const h = new Harness(2, { answerDeadline: 9000, deadline: 60_000 });
    assert.ok(h.start().some((e) => e.type === 'set-timer' && e.timer === 'answer' && e.ms === 8000));
    // The server's own notice (no parent) is not the kernel answering.
    h.deliver({ ...msg('', 'iopub', 'status', { execution_state: 'starting' }), parent_header: {} });
    assert.ok(!h.effects.some((e) => e.type === 'clear-timer' && e.timer === 'answer'));
    h.t += 8000;
    const fired = h.take(h.m.onTimer('answer', h.t));
    assert.ok(h.types(fired).includes('finish'));
    assert.ok(!fired.some((e) => e.type === 'interrupt'), 'no cell runs: nothing to interrupt');
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure?.code, 'KERNEL_DIED');
    assert.equal(h.m.result.failure?.retryable, true);
    assert.equal(h.m.result.failure?.details.neverAnswered, true);
    assert.match(h.m.result.failure!.message, /never answered: no message in the 8\.0 s/);
    assert.equal(h.m.result.started, 0);
  });

  it('the answer timer: at least 5 s however late the channel opened; cleared by the first answer', () => {
    const late = new Harness(1, { answerDeadline: 500 });
    assert.ok(late.start().some((e) => e.type === 'set-timer' && e.timer === 'answer' && e.ms === 5000));
    const h = new Harness(1, { answerDeadline: 9000 });
    h.start();
    h.run(h.executes[0]!);
    assert.ok(h.effects.some((e) => e.type === 'clear-timer' && e.timer === 'answer'));
    assert.equal(h.m.result.failure, undefined);
    const none = new Harness(1);
    assert.ok(!none.start().some((e) => e.type === 'set-timer' && e.timer === 'answer'));
  });
});
