/**
 * The executor's public types: what one cell's run was, progress events, the options and the
 * result of {@link executeCells} (executor.ts re-exports them all).
 * @module
 */
import type { NbtError } from '../errors.js';
import type { OutputStore } from '../notebook/outputs.js';
import type { WidgetStore } from '../notebook/widgets.js';
import type { Message } from './messages.js';
import type { Reconnector } from './reconnect.js';

export type CellStatus = 'ok' | 'error' | 'aborted' | 'skipped' | 'timed_out';

/** What happened to one code cell. */
export interface CellRun {
  index: number;
  status: CellStatus;
  executionCount: number | null;
  startedAt?: number;
  endedAt?: number;
  error?: { ename: string; evalue: string; traceback: string[] };
  /** The cell is tagged `raises-exception`: its error does not fail the run. */
  allowError: boolean;
}

export interface ProgressEvent {
  type: 'start' | 'done';
  cellIndex: number;
  /** 1-based position among the cells sent. */
  position: number;
  total: number;
}

export interface ExecuteOptions {
  session: string;
  sequential?: boolean;
  cellTimeoutMs?: number;
  /** Absolute time (ms since epoch) by which the run must end. */
  deadline?: number;
  /**
   * Absolute time (ms since epoch) by which the kernel must have answered a request (at least
   * {@link MIN_ANSWER_MS} after its channel opened). A kernel silent until then never started: its
   * process may have died or hung in its start-up (a port taken between the server choosing it
   * and the kernel binding it). KERNEL_DIED, retryable: no cell ran.
   */
  answerDeadline?: number;
  maxOutputChars: number;
  /** Secrets whose fragment a cut at the output cap must not leave behind (redact.ts). */
  secrets?: readonly string[];
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  /** Every kernel message, for `--verbose`. */
  onMessage?: (m: Message) => void;
  now?: () => number;
  /** Restores a channel that closed unexpectedly (same session); without it a close ends the run. */
  reconnect?: Reconnector;
  /** Most channel drops one run survives (default 10); each drop has its own bounded attempts. */
  maxReconnects?: number;
  /**
   * Interrupts the kernel. On a cell timeout, the run deadline or a cancellation the executor
   * interrupts, then keeps the cell's output for up to `graceMs` (default 2000), so the notebook shows
   * what it printed and its KeyboardInterrupt as nbclient's does. Without it the run ends at once.
   */
  interrupt?: () => Promise<void>;
  graceMs?: number;
}

export interface ExecuteResult {
  cells: CellRun[];
  outputs: OutputStore;
  /** Widget models the cells opened, and what Output widgets captured (`metadata.widgets`). */
  widgets?: WidgetStore;
  warnings: string[];
  /** Why the run did not succeed: CELL_ERROR, TIMEOUT, KERNEL_DIED, PROTOCOL_ERROR, CANCELLED. */
  failure?: NbtError;
  languageInfo?: Record<string, unknown>;
  /** Cells that started executing (got `busy`). */
  started: number;
  /** Channel drops that were restored. */
  reconnects: number;
  /** The executor interrupted the kernel (after a timeout or a cancellation). */
  interrupted?: boolean;
}

/** The least time a kernel gets to answer once its channel is open, however late the channel opened. */
export const MIN_ANSWER_MS = 5000;
