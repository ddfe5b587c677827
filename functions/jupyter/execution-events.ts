/**
 * The vocabulary of the execution machine (execution-machine.ts): what it is configured with,
 * the cells it tracks, and the effects its handlers return. Time and I/O never happen inside the
 * machine: the driver (executor.ts) hands it the clock with every event and carries out the
 * effects (send frames, arm and clear timers, interrupt, reconnect, report progress, finish).
 *
 * Spec: docs/jupyter-protocol.md; https://jupyter-client.readthedocs.io/en/stable/messaging.html#execute
 * @module
 */
import type { NbtError } from '../errors.js';
import type { PlannedCell } from '../notebook/model.js';
import type { CellRun, ExecuteOptions, ExecuteResult, ProgressEvent } from './execution-types.js';
import type { Message } from './messages.js';

/** The data options of the run (executor options without callbacks, signal or clock). */
type DataOptions =
  | 'session'
  | 'sequential'
  | 'cellTimeoutMs'
  | 'deadline'
  | 'answerDeadline'
  | 'maxOutputChars'
  | 'secrets'
  | 'graceMs'
  | 'maxReconnects';

/** What the machine needs to know of the run's options (no callbacks, no clock). */
export interface MachineConfig extends Pick<ExecuteOptions, DataOptions> {
  /** The driver can interrupt the kernel (a timeout or a cancel then waits `graceMs` for the cell's last output). */
  canInterrupt?: boolean;
  /** The driver can restore a dropped channel (without it a close ends the run). */
  canReconnect?: boolean;
}

/** One code cell the run sends, and how far its request has got. */
export interface PendingCell {
  cell: PlannedCell;
  run: CellRun;
  /** 1-based position among the cells sent (send order). */
  position: number;
  /** The execute_request's msg_id, '' until it is handed to a socket. */
  msgId: string;
  replied: boolean;
  idle: boolean;
  done: boolean;
  /** Its cell timer is set (once the cell is at the head or has started). */
  armed: boolean;
}

/** A kernel_info_request sent first on a restored channel, and what came back for it. */
export interface Barrier {
  /** How many requests (queue order) were handed to a socket before it. */
  covers: number;
  replied: boolean;
  idle: boolean;
}

/** The timers the driver keeps for the machine; each fires as `onTimer(id)`. */
export type TimerId = 'deadline' | 'answer' | 'grace' | 'info' | 'probe' | `cell:${number}`;

/** Whether the machine has a channel to write to or waits for the reconnector. */
export type Link = 'connected' | 'reconnecting';

export type Effect =
  /** Write these frames, in order, to the current channel (one corked write). */
  | { type: 'send'; messages: Message[] }
  /** Start listening on the restored channel (it delivers what arrived early, then live frames). */
  | { type: 'listen' }
  | { type: 'set-timer'; timer: TimerId; ms: number }
  | { type: 'clear-timer'; timer: TimerId }
  /** Interrupt the kernel over REST (best effort: the grace timer bounds the wait). */
  | { type: 'interrupt' }
  /** Ask the reconnector for a new channel on the same session. */
  | { type: 'reconnect'; cause: NbtError }
  | { type: 'progress'; event: ProgressEvent }
  /** A kernel message taken in (not a duplicate), for `--verbose`. */
  | { type: 'observe'; message: Message }
  /** The run is over: release timers and listeners, resolve with `result`. */
  | { type: 'finish'; result: ExecuteResult };

/** The failure codes a run can end with from the channel's side. */
export type ChannelFailure = 'KERNEL_DIED' | 'SERVER_UNREACHABLE' | 'TIMEOUT' | 'CANCELLED' | 'PROTOCOL_ERROR';

/** The timer of the cell at `position`. */
export function cellTimer(position: number): TimerId {
  return `cell:${position}`;
}
