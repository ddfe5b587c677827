/**
 * The execution of a notebook's code cells as a state machine over protocol events. Pure: no
 * socket, no timer, no clock inside. Each handler takes one event (a kernel message, a close, a
 * timer firing, the reconnector's answer, a cancellation) with the time it happened, updates the
 * named state and returns the effects for the driver (executor.ts) to carry out.
 *
 * A cell is done only when both its `execute_reply` and its iopub `idle` have arrived. Kernel
 * death, a kernel silent past the start limit, an unexpected close, a cell timeout, the run deadline
 * and cancellation each end the run at once with a classified error: never a hang. Cells are
 * pipelined (all requests sent at once) or sequential.
 *
 * Reconnect (`canReconnect`): an unexpected close is not the end. The machine stops sending, asks
 * for a new channel on the same session (Jupyter Server replays what it buffered), drops any
 * message whose `header.msg_id` it has already seen, and carries on. No cell can run twice:
 *  - an execute_request never handed to the old socket (sequential mode, later cells) is sent on
 *    the new channel as usual;
 *  - one handed to the old socket is NEVER sent again, even if nothing came back for it: it may
 *    have reached the kernel (and run) with its answers lost in the cut;
 *  - to settle those, the first message on the new channel is a barrier, a `kernel_info_request`.
 *    The kernel handles shell requests in order and publishes iopub in order, so once the
 *    barrier's reply AND its iopub `idle` have arrived, every request sent before it that reached
 *    the kernel has finished and all its messages were delivered (live or replayed). One still
 *    not done then was lost: the run ends with KERNEL_DIED naming the cell, it is not resent.
 *
 * The checks that the kernel answering is still the run's (lifecycle messages, the barrier) are in
 * execution-kernel-watch.ts; the state and steps every handler builds on in execution-state.ts.
 *
 * Handlers are named after protocol steps, as nbclient's and @jupyterlab/services' are.
 * Spec: docs/jupyter-protocol.md;
 * https://jupyter-client.readthedocs.io/en/stable/messaging.html#execute
 * @module
 */
import { NbtError } from '../errors.js';
import type { Effect, PendingCell, TimerId } from './execution-events.js';
import { onCellError, onCellOutput } from './execution-output.js';
import { MIN_ANSWER_MS } from './execution-types.js';
import { IopubWatch } from './execution-iopub-watch.js';
import { isExecuteReply, isStatus, makeRequest, type Message, parentId, type ExecuteReplyContent } from './messages.js';

/** How long a run with no cell to send waits for the kernel's language_info. */
export const INFO_WAIT_MS = 60_000;

export class ExecutionMachine extends IopubWatch {
  /** The kernel answered a request; `answerMs`: how long it was given to. */
  private heard = false;
  private answerMs = 0;

  /** The run begins on an open channel: ask for language_info, send the first requests, arm the timers. */
  onStart(now: number, writable: boolean): Effect[] {
    return this.step(now, writable, () => {
      const { deadline, sequential } = this.config;
      if (deadline !== undefined) {
        this.deadlineLeftMs = Math.max(0, deadline - now);
        this.emit({ type: 'set-timer', timer: 'deadline', ms: this.deadlineLeftMs });
      }
      if (this.config.answerDeadline !== undefined) {
        this.answerMs = Math.max(MIN_ANSWER_MS, this.config.answerDeadline - now);
        this.emit({ type: 'set-timer', timer: 'answer', ms: this.answerMs });
      }
      this.emit({ type: 'send', messages: [this.infoRequest] });
      if (this.queue.length === 0) {
        // Bounded: a kernel that never answers leaves the notebook's own language_info, nothing more.
        this.emit({ type: 'set-timer', timer: 'info', ms: this.config.cellTimeoutMs ?? INFO_WAIT_MS });
        return;
      }
      this.sendNext(sequential ? 1 : this.queue.length);
      this.arm(this.queue[0]!);
    });
  }

  /** A kernel message arrived (any channel). */
  onMessage(m: Message, now: number, writable: boolean): Effect[] {
    return this.step(now, writable, () => {
      const pid = parentId(m);
      // An answer to a request (the server's own notices have no parent) shows the kernel is up.
      if (!this.heard && pid) {
        this.heard = true;
        this.emit({ type: 'clear-timer', timer: 'answer' });
      }
      if (this.seen.check(m.header.msg_id)) return;
      this.emit({ type: 'observe', message: m });
      if (this.onKernelLifecycle(m)) return;
      if (m.channel === 'iopub') this.noteIopub();
      if (pid !== undefined && this.onProbeMessage(pid, m)) return;
      const barrier = pid === undefined ? undefined : this.barriers.get(pid);
      if (barrier) return this.onBarrierMessage(pid!, barrier, m);
      if (pid === this.infoRequest.header.msg_id) return this.onKernelInfo(m);
      const p = pid === undefined ? undefined : this.byMsg.get(pid);
      if (!p || p.done) return;
      if (m.channel === 'iopub') this.onIopub(p, m);
      else if (isExecuteReply(m)) this.onExecuteReply(p, m);
    });
  }

  /** No answer by the start limit: the kernel never started, no cell ran; retryable (a new kernel may work). */
  private onSilentKernel(): void {
    if (this.heard) return;
    const waited = (this.answerMs / 1000).toFixed(1);
    this.finish(
      new NbtError(
        'KERNEL_DIED',
        `the kernel never answered: no message in the ${waited} s its channel was open before the start ` +
          'limit; its process did not start (the server log says why); no cell ran',
        { retryable: true, details: { neverAnswered: true } },
      ),
    );
  }

  /** The channel ended without the driver closing it. */
  onClose(err: NbtError, now: number): Effect[] {
    return this.step(now, false, () => {
      if (err.code === 'PROTOCOL_ERROR') {
        // Keeps its own verdict: a frame over the limit would be too big again on a redelivery.
        return this.failAtCurrent('PROTOCOL_ERROR', err.message, 'error', err.retryable);
      }
      if (!this.config.canReconnect) return this.failAtCurrent('KERNEL_DIED', err.message, 'error');
      if (++this.drops > (this.config.maxReconnects ?? 10)) {
        return this.failAtCurrent(
          'KERNEL_DIED',
          `${err.message}; the channel dropped ${this.drops} times, giving up`,
          'error',
        );
      }
      this.link = 'reconnecting';
      this.lastDrop = err;
      this.emit({ type: 'reconnect', cause: err });
    });
  }

  /** The reconnector restored the channel: the barrier goes first and covers everything sent so far. */
  onReconnected(now: number): Effect[] {
    return this.step(now, false, () => {
      this.link = 'connected';
      this.result.reconnects++;
      this.result.warnings.push(
        `kernel channel dropped (${this.lastDrop?.message ?? 'closed'}); ` +
          'reconnected with the same session and resumed',
      );
      const barrier = makeRequest(this.config.session, 'kernel_info_request', {});
      this.barriers.set(barrier.header.msg_id, { covers: this.sent, replied: false, idle: false });
      this.emit({ type: 'send', messages: [barrier] });
      this.emit({ type: 'listen' });
    });
  }

  /** The restored channel delivered what arrived early: send what waited for it. */
  onListening(now: number, writable: boolean): Effect[] {
    return this.step(now, writable, () => this.flush());
  }

  /** The reconnector gave up. */
  onReconnectFailed(e: unknown, now: number): Effect[] {
    return this.step(now, false, () => {
      // A server that cannot be reached before any cell started is that (retryable, nothing ran);
      // once a cell started, the kernel went with the server.
      const unreachable = (e as NbtError)?.code === 'SERVER_UNREACHABLE' && this.result.started === 0;
      const message = (e as Error)?.message ?? String(e);
      this.failAtCurrent(unreachable ? 'SERVER_UNREACHABLE' : 'KERNEL_DIED', message, 'error');
    });
  }

  /** A timer the machine set fired. */
  onTimer(timer: TimerId, now: number, writable = false): Effect[] {
    return this.step(now, writable, () => {
      if (timer === 'grace' || timer === 'info') return this.finish();
      if (timer === 'answer') return this.onSilentKernel();
      if (timer === 'probe') return this.onProbeTimer();
      if (timer === 'deadline') {
        const left = (this.deadlineLeftMs / 1000).toFixed(1);
        return this.onTimeout(this.currentCell(), `run exceeded its deadline (${left} s left at start)`);
      }
      const p = this.queue[Number(timer.slice('cell:'.length)) - 1]!;
      const limit = (this.config.cellTimeoutMs! / 1000).toFixed(1);
      this.onTimeout(p, `cell ${p.cell.index} exceeded its ${limit} s timeout`);
    });
  }

  /**
   * The run was cancelled (`why`: the canceller's own words, such as the job's SIGTERM). The
   * running cell is interrupted and its last output awaited (bounded), as on a timeout: what it
   * printed before the cancel is in the kernel's iopub stream ahead of its idle, so the partial
   * notebook keeps it.
   */
  onAbort(now: number, why = 'run cancelled'): Effect[] {
    return this.step(now, false, () => {
      if (this.grace) return this.finish(); // a timeout's interrupt is under way: it keeps its verdict
      const p = this.currentCell();
      if (p?.run.startedAt !== undefined) p.run.endedAt = this.now;
      this.result.failure ??= new NbtError('CANCELLED', why, { details: p ? { cellIndex: p.cell.index } : {} });
      this.interruptThenFinish(p);
    });
  }

  /** Stream text for a cell that keeps no more output (or for no pending cell) need not be decoded. */
  discardable(m: Message): boolean {
    const p = this.byMsg.get(m.parent_header.msg_id ?? '');
    return p === undefined || p.done || this.result.outputs.truncated(p.cell.index);
  }

  private onKernelInfo(m: Message): void {
    if (m.header.msg_type !== 'kernel_info_reply') return;
    const info = m.content.language_info;
    if (typeof info === 'object' && info !== null) this.result.languageInfo = info as Record<string, unknown>;
    // With no cell to send, the reply was all the run waited for (nbclient asks for it as well).
    if (this.queue.length === 0) this.finish();
  }

  private onIopub(p: PendingCell, m: Message): void {
    this.onLaterIopub(p);
    if (!isStatus(m)) {
      onCellOutput(this, p, m);
      return;
    }
    if (m.content.execution_state === 'busy' && p.run.startedAt === undefined) this.onCellStart(p);
    else if (m.content.execution_state === 'idle') {
      p.idle = true;
      if (p === this.grace) {
        if (p.replied) this.finish();
        return;
      }
      this.settle(p);
      this.watchIdle();
    }
  }

  private onCellStart(p: PendingCell): void {
    p.run.startedAt = this.now;
    this.result.started++;
    this.emit({
      type: 'progress',
      event: { type: 'start', cellIndex: p.cell.index, position: p.position, total: this.queue.length },
    });
    this.arm(p);
  }

  private onExecuteReply(p: PendingCell, m: Message<ExecuteReplyContent>): void {
    const c = m.content;
    const { result } = this;
    p.replied = true;
    if (p === this.grace) {
      // stays timed_out: its KeyboardInterrupt is not a cell error
      if (p.idle) this.finish();
      return;
    }
    if (typeof c.execution_count === 'number') p.run.executionCount = c.execution_count;
    if (c.status === 'ok') p.run.status = 'ok';
    else if (c.status === 'error') onCellError(this.result, p, c);
    else p.run.status = 'aborted';
    if (result.failure && c.status !== 'aborted' && p.run.status !== 'error' && p.position > this.failedPosition()) {
      result.warnings.push(
        `cell ${p.cell.index} ran after an earlier error: its request reached the kernel after the abort window`,
      );
    }
    this.settle(p);
    this.watchIdle();
  }

  /** A timeout: interrupt, then wait (bounded) for the cell's last output, as nbclient does. */
  private onTimeout(p: PendingCell | undefined, message: string): void {
    if (this.grace) return;
    if (p) {
      p.run.status = 'timed_out';
      p.run.endedAt = this.now;
    }
    this.result.failure = new NbtError('TIMEOUT', message, { details: p ? { cellIndex: p.cell.index } : {} });
    this.interruptThenFinish(p);
  }

  /** Ends the run: at once, or once `p` is interrupted and its last output arrived (bounded by the grace). */
  private interruptThenFinish(p: PendingCell | undefined): void {
    if (!p || !this.config.canInterrupt || this.link !== 'connected' || p.msgId === '') {
      this.finish();
      return;
    }
    this.grace = p;
    this.result.interrupted = true;
    this.emit({ type: 'interrupt' });
    this.emit({ type: 'set-timer', timer: 'grace', ms: this.config.graceMs ?? 2000 });
  }
}
