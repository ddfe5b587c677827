/**
 * The checks that the kernel answering is still the one running the run's cells, for the
 * execution machine (execution-machine.ts): lifecycle messages that end the run (a dead or
 * restarting status, a shutdown_reply, a new kernel session signing messages), and the barrier
 * sent after a reconnect, which settles whether requests handed to the old socket were lost.
 * Pure, like the machine: effects are emitted for the driver, time is the event's.
 *
 * Spec: docs/jupyter-protocol.md; https://jupyter-client.readthedocs.io/en/stable/messaging.html#kernel-info
 * @module
 */
import { NbtError } from '../errors.js';
import type { Barrier } from './execution-events.js';
import { ExecutionState } from './execution-state.js';
import { isStatus, type Message } from './messages.js';

export class KernelWatch extends ExecutionState {
  /** Status and shutdown messages that end the run; true when the message was one. */
  protected onKernelLifecycle(m: Message): boolean {
    if (isStatus(m)) {
      const state = m.content.execution_state;
      if (state === 'restarting' || state === 'dead') {
        this.failAtCurrent('KERNEL_DIED', `kernel died (status ${state})`, 'error');
        return true;
      }
    }
    // ipykernel 6 broadcasts shutdown_reply on iopub. We never send shutdown_request (the runner
    // deletes over REST after closing the channel), so this is the server stopping or another
    // client shutting the kernel down; the running cell is interrupted next and must not be
    // reported as a KeyboardInterrupt in the notebook.
    if (m.channel === 'iopub' && m.header.msg_type === 'shutdown_reply') {
      const how = m.content.restart === true ? 'restarted' : 'shut down';
      this.failAtCurrent('KERNEL_DIED', `kernel was ${how} by the server or another client`, 'error');
      return true;
    }
    // Every kernel process signs its messages with its own session id: a new one on the shell
    // channel or in a busy/idle status means another kernel process answers now (a restart by
    // another client or by the server), even when the old one's shutdown_reply never reached us.
    if (m.channel === 'shell' || (isStatus(m) && m.content.execution_state !== 'starting')) {
      this.kernelSession ??= m.header.session;
      if (m.header.session !== this.kernelSession) {
        const message = 'kernel was restarted by the server or another client (a new kernel process answers)';
        this.failAtCurrent('KERNEL_DIED', message, 'error');
        return true;
      }
    }
    return false;
  }

  protected onBarrierMessage(id: string, barrier: Barrier, m: Message): void {
    if (m.channel === 'shell' && m.header.msg_type === 'kernel_info_reply') barrier.replied = true;
    else if (isStatus(m) && m.content.execution_state === 'idle') barrier.idle = true;
    if (!barrier.replied || !barrier.idle) return;
    this.barriers.delete(id);
    this.onBarrierPassed(barrier.covers);
  }

  /** Every request sent before the barrier must be done by now; one that is not was lost. */
  protected onBarrierPassed(covers: number): void {
    const lost = this.queue.slice(0, covers).filter((p) => !p.done);
    if (lost.length === 0) return;
    for (const p of lost) {
      if (p.run.startedAt === undefined) continue;
      p.run.status = 'error';
      p.run.endedAt = this.now;
    }
    const first = lost[0]!;
    const what = first.run.startedAt === undefined ? 'never started' : 'never finished';
    this.finish(
      new NbtError(
        'KERNEL_DIED',
        `kernel channel was restored, but cell ${first.cell.index} (sent before ` +
          `the connection dropped) ${what}: its request or its answers were lost with the connection, or the kernel ` +
          'restarted meanwhile; not resent, so it cannot run twice',
        { details: { cellIndex: first.cell.index, lostCells: lost.map((p) => p.cell.index) } },
      ),
    );
  }
}
