/**
 * Lost iopub messages, for the execution machine (execution-machine.ts). A kernel's iopub is a
 * ZeroMQ PUB socket: when the Jupyter server reads it more slowly than the kernel publishes (a
 * cell printing thousands of flushed lines on a busy machine), the queue between them fills (its
 * high-water mark, 1000 messages by default) and ZeroMQ drops what is published until there is
 * room again. A cell's `idle` status can be among the dropped messages; nothing more would ever come
 * for that cell and the run would wait for its cell timeout, then fail a notebook that ran.
 *
 * What iopub delivers keeps the kernel's order, and the kernel publishes a request's `idle` before
 * anything of the requests after it. So an iopub message of a later request proves that every
 * earlier cell's `idle` was delivered or lost. When a cell has its execute_reply but not its `idle`
 * and iopub has been quiet for {@link PROBE_MS}, a `kernel_info_request` (a probe) goes out on
 * shell: the kernel handles it after every request sent before it, so its iopub `busy` comes after
 * their `idle`s. Its arrival, or any later cell's iopub, settles those cells, each with a warning
 * that its outputs may be incomplete. A probe whose own messages were dropped is followed by
 * another, each wait twice the last up to {@link PROBE_MAX_MS}; the cell timeout and the run
 * deadline still bound it all. Pure, like the machine.
 *
 * Spec: docs/jupyter-protocol.md (Lost iopub messages); https://zeromq.org/socket-api/#high-water-mark;
 * https://jupyter-client.readthedocs.io/en/stable/messaging.html#kernel-status
 * @module
 */
import type { PendingCell } from './execution-events.js';
import { KernelWatch } from './execution-kernel-watch.js';
import { makeRequest, type Message } from './messages.js';

/** How long iopub stays quiet, after a cell's reply without its `idle`, before a probe is sent. */
export const PROBE_MS = 1000;
/** The longest wait between two probes. */
export const PROBE_MAX_MS = 8000;

export class IopubWatch extends KernelWatch {
  /** Probes sent: msg_id → how many requests (queue order) were sent before it. */
  private readonly probes = new Map<string, number>();
  private probeArmed = false;
  private probeWaitMs = PROBE_MS;
  private lastIopubAt = 0;

  /** Every iopub message counts as traffic: a server still delivering is slow, not losing. */
  protected noteIopub(): void {
    this.lastIopubAt = this.now;
  }

  /** A probe's message: true when `pid` was a probe (it settles what it covers, nothing else). */
  protected onProbeMessage(pid: string, m: Message): boolean {
    const covers = this.probes.get(pid);
    if (covers === undefined) return false;
    if (m.channel === 'iopub') {
      this.probes.delete(pid);
      this.idleLostUpTo(covers);
    }
    return true;
  }

  /** An iopub message of cell `p`: every cell sent before it has had its `idle` published. */
  protected onLaterIopub(p: PendingCell): void {
    this.idleLostUpTo(p.position - 1);
  }

  /** Arms the probe while a cell has its reply and waits for its `idle`; disarms it when none does. */
  protected watchIdle(): void {
    if (this.phase === 'finished') return;
    const waiting = this.awaitingIdle();
    if (waiting && !this.probeArmed) {
      this.probeArmed = true;
      this.emit({ type: 'set-timer', timer: 'probe', ms: this.probeWaitMs });
    } else if (!waiting && this.probeArmed) {
      this.probeArmed = false;
      this.probeWaitMs = PROBE_MS;
      this.emit({ type: 'clear-timer', timer: 'probe' });
    }
  }

  /** The probe timer fired: iopub quiet that long sends a probe, traffic waits on. */
  protected onProbeTimer(): void {
    this.probeArmed = false;
    if (!this.awaitingIdle() || this.grace) return;
    const quietMs = this.now - this.lastIopubAt;
    if (quietMs >= PROBE_MS && this.link === 'connected' && this.writable) {
      const probe = makeRequest(this.config.session, 'kernel_info_request', {});
      this.probes.set(probe.header.msg_id, this.sent);
      this.emit({ type: 'send', messages: [probe] });
      this.probeWaitMs = Math.min(PROBE_MAX_MS, this.probeWaitMs * 2);
    }
    this.probeArmed = true;
    const ms = quietMs >= PROBE_MS ? this.probeWaitMs : PROBE_MS - quietMs;
    this.emit({ type: 'set-timer', timer: 'probe', ms });
  }

  private awaitingIdle(): boolean {
    for (let i = this.head; i < this.queue.length; i++) {
      const p = this.queue[i]!;
      if (!p.done && p.replied && !p.idle && p.run.status !== 'aborted') return true;
    }
    return false;
  }

  /** The cells at positions 1..`last` still without their `idle` lost it: settled in order, each with a warning. */
  private idleLostUpTo(last: number): void {
    if (this.grace) return;
    for (let i = this.head; i < Math.min(last, this.queue.length); i++) {
      const p = this.queue[i]!;
      if (this.phase === 'finished') return;
      if (p.done || p.idle || p.msgId === '') continue;
      p.idle = true;
      this.result.warnings.push(
        `cell ${p.cell.index}: its outputs may be incomplete: some of the kernel's iopub messages for it ` +
          'were lost (its idle status never came, later messages did): the Jupyter server read them more ' +
          "slowly than the kernel published them and ZeroMQ dropped some at the queue's high-water mark",
      );
      // The kernel handled its request (a later message came): it ran, even if its busy was lost.
      if (p.run.startedAt === undefined) {
        p.run.startedAt = this.now;
        this.result.started++;
        const event = {
          type: 'start' as const,
          cellIndex: p.cell.index,
          position: p.position,
          total: this.queue.length,
        };
        this.emit({ type: 'progress', event });
      }
      this.settle(p);
    }
    this.watchIdle();
  }
}
