/**
 * The named state of one run's execution, and the steps every handler of the execution machine
 * (execution-machine.ts) builds on: send what is due, settle a cell, arm its timer, fail at the
 * cell the kernel is working on, finish. Pure: effects are emitted for the driver, time is the
 * time of the event being handled.
 *
 * Spec: docs/jupyter-protocol.md; https://jupyter-client.readthedocs.io/en/stable/messaging.html#execute
 * @module
 */
import { NbtError } from '../errors.js';
import type { PlannedCell } from '../notebook/model.js';
import { OutputStore } from '../notebook/outputs.js';
import { WidgetStore } from '../notebook/widgets.js';
import {
  type Barrier,
  cellTimer,
  type ChannelFailure,
  type Effect,
  type Link,
  type MachineConfig,
  type PendingCell,
} from './execution-events.js';
import type { CellStatus, ExecuteResult } from './execution-types.js';
import { executeRequest, makeRequest, type Message } from './messages.js';
import { SeenIds } from './seen-ids.js';

export class ExecutionState {
  readonly result: ExecuteResult;
  /** The cells to send, in send order. */
  readonly queue: PendingCell[] = [];
  phase: 'running' | 'finished' = 'running';
  link: Link = 'connected';
  /** The timed-out cell whose last output is awaited after the interrupt. */
  grace: PendingCell | undefined;
  /** The first cell not done. */
  head = 0;
  /** Requests handed to a socket (queue order is send order). */
  sent = 0;
  /** Requests that should have been sent; the gap to `sent` waits while the channel is down. */
  target = 0;
  /** Unexpected closes so far. */
  drops = 0;
  /** The session id the kernel process signs its messages with (the first one seen). */
  kernelSession: string | undefined;
  readonly barriers = new Map<string, Barrier>();
  readonly byMsg = new Map<string, PendingCell>();
  readonly rateLimited = new Set<number>();
  readonly seen = new SeenIds();
  protected readonly infoRequest: Message;
  protected lastDrop: NbtError | undefined;
  /** The current channel accepts frames (told by the driver with each event that may send). */
  protected writable = false;
  protected now = 0;
  /** Time left to the run's deadline when the run began. */
  protected deadlineLeftMs = 0;
  protected out: Effect[] = [];

  constructor(
    cells: PlannedCell[],
    readonly config: MachineConfig,
  ) {
    const outputs = new OutputStore(config.maxOutputChars, config.secrets);
    const widgets = new WidgetStore(config.maxOutputChars);
    this.result = { cells: [], outputs, widgets, warnings: [], started: 0, reconnects: 0 };
    for (const cell of cells) {
      const run = {
        index: cell.index,
        status: (cell.skip ? 'skipped' : 'aborted') as CellStatus,
        executionCount: null,
        allowError: cell.allowError,
      };
      this.result.cells.push(run);
      if (cell.skip) continue;
      this.queue.push({
        cell,
        run,
        position: this.queue.length + 1,
        msgId: '',
        replied: false,
        idle: false,
        done: false,
        armed: false,
      });
    }
    this.infoRequest = makeRequest(config.session, 'kernel_info_request', {});
  }

  /** Runs one handler: nothing happens once the run is finished; the effects it emitted are returned. */
  protected step(now: number, writable: boolean, body: () => void): Effect[] {
    if (this.phase === 'finished') return [];
    this.now = now;
    this.writable = writable;
    this.out = [];
    body();
    const out = this.out;
    this.out = [];
    return out;
  }

  protected emit(e: Effect): void {
    this.out.push(e);
  }

  /** A cell with both its reply and its idle is done; the next one moves to the head. */
  protected settle(p: PendingCell): void {
    if (p.done || !p.replied || !(p.idle || p.run.status === 'aborted')) return;
    p.done = true;
    if (p.armed) this.emit({ type: 'clear-timer', timer: cellTimer(p.position) });
    if (p.run.startedAt !== undefined) p.run.endedAt = this.now;
    if (p.run.status !== 'aborted') {
      this.emit({
        type: 'progress',
        event: { type: 'done', cellIndex: p.cell.index, position: p.position, total: this.queue.length },
      });
    }
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++;
    if (this.head === this.queue.length || (this.config.sequential && this.result.failure)) {
      this.finish();
      return;
    }
    if (this.config.sequential) this.sendNext(1);
    this.arm(this.queue[this.head]!);
  }

  protected arm(p: PendingCell): void {
    if (this.config.cellTimeoutMs === undefined || p.armed || p.done) return;
    p.armed = true;
    this.emit({ type: 'set-timer', timer: cellTimer(p.position), ms: this.config.cellTimeoutMs });
  }

  protected sendNext(count: number): void {
    this.target = Math.min(this.queue.length, this.target + count);
    this.flush();
  }

  protected flush(): void {
    // A socket that is already closing is not used: a request written there is surely lost, and
    // it would count as sent (never resent). The close event follows and the reconnect sends it.
    if (this.link !== 'connected' || !this.writable) return;
    const batch: Message[] = [];
    while (this.sent < this.target) {
      const p = this.queue[this.sent++]!;
      const req = executeRequest(this.config.session, p.cell.source);
      if (p.cell.allowError) (req.content as Record<string, unknown>).stop_on_error = false;
      p.msgId = req.header.msg_id;
      this.byMsg.set(p.msgId, p);
      batch.push(req);
    }
    if (batch.length > 0) this.emit({ type: 'send', messages: batch });
  }

  // The kernel answers in order: the first cell without a reply is the one it is working on
  // (its busy may never have been published if the kernel died at once).
  protected currentCell(): PendingCell | undefined {
    const rest = this.queue.slice(this.head);
    return rest.find((p) => !p.done && !p.replied) ?? rest.find((p) => !p.done);
  }

  protected failAtCurrent(code: ChannelFailure, message: string, status?: CellStatus, retryable?: boolean): void {
    const cur = this.currentCell();
    if (cur && status) cur.run.status = status;
    // A kernel that died under a sent cell, with cells run before it, was most likely running it.
    const sentUnstarted = cur !== undefined && cur.run.startedAt === undefined && cur.msgId !== '';
    if (cur && code === 'KERNEL_DIED' && sentUnstarted && this.result.started > 0) {
      cur.run.startedAt = this.now;
    }
    if (cur && cur.run.startedAt !== undefined) cur.run.endedAt = this.now;
    const details = cur ? { cellIndex: cur.cell.index } : {};
    this.finish(new NbtError(code, message, { details, ...(retryable === undefined ? {} : { retryable }) }));
  }

  protected failedPosition(): number {
    const idx = this.result.failure?.details.cellIndex;
    return this.queue.find((q) => q.cell.index === idx)?.position ?? Infinity;
  }

  protected finish(failure?: NbtError): void {
    if (this.phase === 'finished') return;
    this.phase = 'finished';
    const { result } = this;
    if (this.seen.duplicates > 0) {
      result.warnings.push(`${this.seen.duplicates} duplicate kernel message(s) ignored after reconnecting`);
    }
    result.warnings.push(...result.widgets!.warnings);
    if (failure && !result.failure) result.failure = failure;
    if (result.failure?.code === 'KERNEL_DIED' && result.started > 0) {
      result.failure = new NbtError('KERNEL_DIED', result.failure.message, {
        details: result.failure.details,
        retryable: false,
      });
    }
    this.emit({ type: 'finish', result });
  }
}
