/**
 * The execution machine and lost iopub messages (execution-iopub-watch.ts): a cell whose `idle` was
 * dropped between the kernel and the server is settled once a later message proves it lost (a later
 * cell's iopub, or a probe's), with a warning; a slow iopub is waited for, never taken for a loss.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PROBE_MAX_MS, PROBE_MS } from '../../../../functions/jupyter/execution-iopub-watch.js';
import type { Effect } from '../../../../functions/jupyter/execution-events.js';
import type { Message } from '../../../../functions/jupyter/messages.js';
import { Harness, reply, status, stream } from './execution-harness.js';

const probesSent = (h: Harness): Message[] =>
  h.sent.filter((m) => m.header.msg_type === 'kernel_info_request').slice(1); // the first asks for language_info
const probeTimers = (effects: Effect[]): Effect[] =>
  effects.filter((e) => (e.type === 'set-timer' || e.type === 'clear-timer') && e.timer === 'probe');
const lostWarnings = (h: Harness): string[] => h.m.result.warnings.filter((w) => /outputs may be incomplete/.test(w));

describe('execution machine: lost iopub messages', () => {
  test('idles lost after the replies: a probe settles the cells, the run succeeds with a warning each', () => {
    const h = new Harness(3);
    h.start();
    const [c0, c1, c2] = h.executes as [Message, Message, Message];
    h.run(c0);
    // Cell 1 printed, replied, and its idle was dropped; cell 2's iopub was dropped whole.
    h.deliver(status(c1, 'busy'), stream(c1, 'x'), reply(c1, 'ok'), reply(c2, 'ok'));
    assert.equal(h.finished, false);
    assert.deepEqual(
      probeTimers(h.effects).at(-1),
      { type: 'set-timer', timer: 'probe', ms: PROBE_MS },
      'the probe is armed while a reply waits for its idle',
    );
    h.t += PROBE_MS;
    h.take(h.m.onTimer('probe', h.t, true));
    const [probe] = probesSent(h);
    assert.ok(probe, 'a kernel_info_request probe was sent');
    assert.equal(h.finished, false);
    const started = h.effects.length;
    h.deliver(status(probe, 'busy'));
    assert.equal(h.finished, true);
    const r = h.m.result;
    assert.equal(r.failure, undefined);
    assert.deepEqual(
      r.cells.map((c) => c.status),
      ['ok', 'ok', 'ok'],
    );
    assert.deepEqual(
      lostWarnings(h).map((w) => w.slice(0, 7)),
      ['cell 1:', 'cell 2:'],
    );
    assert.equal(r.started, 3, 'cell 2 ran: its reply came');
    const progress = h.effects.slice(started).flatMap((e) => (e.type === 'progress' ? [e.event] : []));
    assert.deepEqual(
      progress.map((e) => `${e.type} ${e.cellIndex}`),
      ['done 1', 'start 2', 'done 2'],
    );
  });

  test("a later cell's iopub proves an earlier idle lost: no probe needed, the run goes on", () => {
    const h = new Harness(2);
    h.start();
    const [c0, c1] = h.executes as [Message, Message];
    h.deliver(status(c0, 'busy'), reply(c0, 'ok'), status(c1, 'busy'));
    assert.equal(lostWarnings(h).length, 1);
    assert.match(lostWarnings(h)[0]!, /^cell 0:/);
    assert.equal(h.finished, false);
    h.deliver(stream(c1, 'y'), reply(c1, 'ok'), status(c1, 'idle'));
    assert.equal(h.finished, true);
    assert.equal(h.m.result.failure, undefined);
    assert.equal(probesSent(h).length, 0);
    assert.equal(lostWarnings(h).length, 1, 'cell 1 ended normally');
  });

  test('a slow iopub is waited for: no probe while messages keep coming, no warning when the idle comes', () => {
    const h = new Harness(1);
    h.start();
    const [c0] = h.executes as [Message];
    h.deliver(status(c0, 'busy'), reply(c0, 'ok'));
    for (let i = 0; i < 5; i++) {
      h.t += PROBE_MS / 2;
      h.deliver(stream(c0, `late ${i}`));
      if (i % 2 === 1) h.take(h.m.onTimer('probe', h.t, true));
    }
    assert.equal(probesSent(h).length, 0, 'iopub was never quiet for the probe wait');
    h.deliver(status(c0, 'idle'));
    assert.equal(h.finished, true);
    assert.deepEqual(lostWarnings(h), []);
    assert.equal(h.m.result.outputs.outputs(0).length, 1, 'the late output is kept');
  });

  test('a probe whose own messages were lost is followed by another, each wait twice the last', () => {
    const h = new Harness(1);
    h.start();
    const [c0] = h.executes as [Message];
    h.deliver(status(c0, 'busy'), reply(c0, 'ok'));
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      h.t += PROBE_MAX_MS;
      const fx = h.take(h.m.onTimer('probe', h.t, true));
      for (const e of probeTimers(fx)) if (e.type === 'set-timer') waits.push(e.ms);
    }
    assert.equal(probesSent(h).length, 5);
    assert.deepEqual(waits, [2 * PROBE_MS, 4 * PROBE_MS, PROBE_MAX_MS, PROBE_MAX_MS, PROBE_MAX_MS]);
    h.deliver(status(probesSent(h)[4]!, 'busy'));
    assert.equal(h.finished, true);
    assert.equal(lostWarnings(h).length, 1);
  });

  test('a run whose idles all come sends no probe; each idle clears the timer its reply armed', () => {
    const h = new Harness(3);
    h.start();
    for (const c of h.executes) h.deliver(status(c, 'busy'), reply(c, 'ok'), status(c, 'idle'));
    assert.equal(h.finished, true);
    assert.equal(probesSent(h).length, 0);
    assert.deepEqual(lostWarnings(h), []);
    const timers = probeTimers(h.effects).map((e) => e.type);
    // Armed by each reply that came before its idle, cleared by that idle (the last one by the finish).
    assert.deepEqual(timers, ['set-timer', 'clear-timer', 'set-timer', 'clear-timer', 'set-timer']);
    assert.equal(h.effects.at(-1)?.type, 'finish');
  });
});
