/**
 * Executes a notebook's code cells over one kernel channel: pipelined (all requests sent at
 * once, the default) or sequential. A cell is done only when both its `execute_reply` and its
 * iopub `idle` have arrived. Kernel death, an unexpected close, a cell timeout, the run deadline
 * and cancellation each end the run at once with a classified error: never a hang.
 *
 * Spec: ../shared/design/README.md §3; https://jupyter-client.readthedocs.io/en/stable/messaging.html#execute
 * @module
 */
import { NbtError } from '../errors.js';
import type { PlannedCell } from '../notebook/model.js';
import { OutputStore } from '../notebook/outputs.js';
import type { KernelChannel } from './channel.js';
import { executeRequest, isExecuteReply, isStatus, makeRequest, parentId, type Message } from './messages.js';

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
  maxOutputChars: number;
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  /** Every kernel message, for `--verbose`. */
  onMessage?: (m: Message) => void;
  now?: () => number;
}

export interface ExecuteResult {
  cells: CellRun[];
  outputs: OutputStore;
  warnings: string[];
  /** Why the run did not succeed: CELL_ERROR, TIMEOUT, KERNEL_DIED, PROTOCOL_ERROR, CANCELLED. */
  failure?: NbtError;
  languageInfo?: Record<string, unknown>;
  /** Cells that started executing (got `busy`). */
  started: number;
}

interface Pending {
  cell: PlannedCell;
  run: CellRun;
  position: number;
  msgId: string;
  replied: boolean;
  idle: boolean;
  done: boolean;
  timer?: NodeJS.Timeout;
}

const RATE_LIMIT_RE = /IOPub (data|message) rate exceeded/;

/** Runs the cells; always resolves (the outcome is in `failure`), never rejects. */
export function executeCells(channel: KernelChannel, cells: PlannedCell[], opts: ExecuteOptions): Promise<ExecuteResult> {
  const now = opts.now ?? Date.now;
  const outputs = new OutputStore(opts.maxOutputChars);
  const result: ExecuteResult = { cells: [], outputs, warnings: [], started: 0 };
  const queue: Pending[] = [];
  const byMsg = new Map<string, Pending>();
  const rateLimited = new Set<number>();
  let position = 0;
  for (const cell of cells) {
    const run: CellRun = { index: cell.index, status: cell.skip ? 'skipped' : 'aborted', executionCount: null, allowError: cell.allowError };
    result.cells.push(run);
    if (cell.skip) continue;
    const p: Pending = { cell, run, position: ++position, msgId: '', replied: false, idle: false, done: false };
    queue.push(p);
  }
  const infoRequest = makeRequest(opts.session, 'kernel_info_request', {});
  let head = 0;
  let sent = 0;
  let finished = false;
  let deadlineTimer: NodeJS.Timeout | undefined;

  return new Promise<ExecuteResult>((resolve) => {
    const finish = (failure?: NbtError): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadlineTimer);
      for (const p of queue) clearTimeout(p.timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (failure && !result.failure) result.failure = failure;
      if (result.failure?.code === 'KERNEL_DIED' && result.started > 0) {
        result.failure = new NbtError('KERNEL_DIED', result.failure.message, { details: result.failure.details, retryable: false });
      }
      resolve(result);
    };
    const currentCell = (): Pending | undefined => queue.slice(head).find((p) => !p.done);
    const failAtCurrent = (code: 'KERNEL_DIED' | 'TIMEOUT' | 'CANCELLED' | 'PROTOCOL_ERROR', message: string, status?: CellStatus): void => {
      const cur = currentCell();
      if (cur && status) cur.run.status = status;
      if (cur && cur.run.startedAt !== undefined) cur.run.endedAt = now();
      finish(new NbtError(code, message, { details: cur ? { cellIndex: cur.cell.index } : {} }));
    };
    const onAbort = (): void => failAtCurrent('CANCELLED', 'run cancelled');

    const arm = (p: Pending): void => {
      if (opts.cellTimeoutMs === undefined || p.timer || p.done) return;
      p.timer = setTimeout(() => failAtCurrentTimeout(p), opts.cellTimeoutMs);
    };
    const failAtCurrentTimeout = (p: Pending): void => {
      p.run.status = 'timed_out';
      p.run.endedAt = now();
      finish(new NbtError('TIMEOUT', `cell ${p.cell.index} exceeded its ${(opts.cellTimeoutMs! / 1000).toFixed(1)} s timeout`, { details: { cellIndex: p.cell.index } }));
    };

    const sendNext = (count: number): void => {
      const batch: Message[] = [];
      while (count-- > 0 && sent < queue.length) {
        const p = queue[sent++]!;
        const req = executeRequest(opts.session, p.cell.source);
        if (p.cell.allowError) (req.content as Record<string, unknown>).stop_on_error = false;
        p.msgId = req.header.msg_id;
        byMsg.set(p.msgId, p);
        batch.push(req);
      }
      channel.sendAll(batch);
    };

    const settle = (p: Pending): void => {
      if (p.done || !p.replied || !(p.idle || p.run.status === 'aborted')) return;
      p.done = true;
      clearTimeout(p.timer);
      if (p.run.startedAt !== undefined) p.run.endedAt = now();
      if (p.run.status !== 'aborted') opts.onProgress?.({ type: 'done', cellIndex: p.cell.index, position: p.position, total: queue.length });
      while (head < queue.length && queue[head]!.done) head++;
      if (head === queue.length) return finish();
      if (opts.sequential) {
        if (result.failure) return finish();
        sendNext(1);
      }
      arm(queue[head]!);
    };

    const onMessage = (m: Message): void => {
      if (finished) return;
      opts.onMessage?.(m);
      if (isStatus(m)) {
        const state = m.content.execution_state;
        if (state === 'restarting' || state === 'dead') {
          return failAtCurrent('KERNEL_DIED', `kernel died (status ${state})`, 'error');
        }
      }
      // ipykernel 6 broadcasts shutdown_reply on iopub. We never send shutdown_request (the runner
      // deletes over REST after closing the channel), so this is the server stopping or another
      // client shutting the kernel down; the running cell is interrupted next and must not be
      // reported as a KeyboardInterrupt in the notebook.
      if (m.channel === 'iopub' && m.header.msg_type === 'shutdown_reply') {
        const how = m.content.restart === true ? 'restarted' : 'shut down';
        return failAtCurrent('KERNEL_DIED', `kernel was ${how} by the server or another client`, 'error');
      }
      const pid = parentId(m);
      if (pid === infoRequest.header.msg_id) {
        if (m.header.msg_type === 'kernel_info_reply' && typeof m.content.language_info === 'object') {
          result.languageInfo = m.content.language_info as Record<string, unknown>;
        }
        return;
      }
      const p = pid === undefined ? undefined : byMsg.get(pid);
      if (!p || p.done) return;
      if (m.channel === 'iopub') {
        const type = m.header.msg_type;
        if (isStatus(m)) {
          if (m.content.execution_state === 'busy' && p.run.startedAt === undefined) {
            p.run.startedAt = now();
            result.started++;
            opts.onProgress?.({ type: 'start', cellIndex: p.cell.index, position: p.position, total: queue.length });
            arm(p);
          } else if (m.content.execution_state === 'idle') {
            p.idle = true;
            settle(p);
          }
        } else if (type === 'execute_input') {
          if (typeof m.content.execution_count === 'number') p.run.executionCount = m.content.execution_count;
        } else {
          // The server sends this notice each time a cell's output crosses the limit again: warn once per cell.
          if (type === 'stream' && typeof m.content.text === 'string' && RATE_LIMIT_RE.test(m.content.text) && !rateLimited.has(p.cell.index)) {
            rateLimited.add(p.cell.index);
            result.warnings.push(`cell ${p.cell.index}: the Jupyter server's iopub rate limit dropped output (${RATE_LIMIT_RE.exec(m.content.text)![0]})`);
          }
          outputs.apply(p.cell.index, type, m.content);
        }
        return;
      }
      if (isExecuteReply(m)) {
        const c = m.content;
        p.replied = true;
        if (typeof c.execution_count === 'number') p.run.executionCount = c.execution_count;
        if (c.status === 'ok') p.run.status = 'ok';
        else if (c.status === 'error') {
          p.run.status = 'error';
          p.run.error = { ename: String(c.ename ?? ''), evalue: String(c.evalue ?? ''), traceback: Array.isArray(c.traceback) ? c.traceback.map(String) : [] };
          if (!p.cell.allowError && !result.failure) {
            result.failure = new NbtError('CELL_ERROR', `cell ${p.cell.index} raised ${p.run.error.ename}: ${p.run.error.evalue}`,
              { details: { cellIndex: p.cell.index, ...p.run.error } });
          }
        } else {
          p.run.status = 'aborted';
        }
        if (result.failure && c.status !== 'aborted' && p.run.status !== 'error' && p.position > failedPosition()) {
          result.warnings.push(`cell ${p.cell.index} ran after an earlier error: its request reached the kernel after the abort window`);
        }
        settle(p);
      }
    };
    const failedPosition = (): number => {
      const idx = result.failure?.details.cellIndex;
      return queue.find((q) => q.cell.index === idx)?.position ?? Infinity;
    };

    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    channel.listen(onMessage, (err) => failAtCurrent(err.code === 'PROTOCOL_ERROR' ? 'PROTOCOL_ERROR' : 'KERNEL_DIED', err.message, 'error'));
    if (opts.deadline !== undefined) {
      const ms = Math.max(0, opts.deadline - now());
      deadlineTimer = setTimeout(() => failAtCurrent('TIMEOUT', `run exceeded its deadline (${(ms / 1000).toFixed(1)} s left at start)`, 'timed_out'), ms);
    }
    if (queue.length === 0) return finish();
    channel.send(infoRequest);
    sendNext(opts.sequential ? 1 : queue.length);
    arm(queue[0]!);
  });
}
