/**
 * Executes a notebook's code cells over one kernel channel: pipelined (all requests sent at
 * once, the default) or sequential. A cell is done only when both its `execute_reply` and its
 * iopub `idle` have arrived. Kernel death, an unexpected close, a cell timeout, the run deadline
 * and cancellation each end the run at once with a classified error: never a hang.
 *
 * Reconnect (when `reconnect` is given): an unexpected close of the channel is not the end. The
 * executor stops sending, asks the reconnector for a new channel on the same session (Jupyter
 * Server replays what it buffered meanwhile), drops any message whose `header.msg_id` it has
 * already seen, and carries on. What it sends again is decided so that no cell can run twice:
 *  - an execute_request never handed to the old socket (sequential mode, later cells) is sent
 *    on the new channel as usual;
 *  - an execute_request handed to the old socket is NEVER sent again, even if nothing came back
 *    for it: it may have reached the kernel (and run) with its answers lost in the cut;
 *  - to settle those, the first message on the new channel is a barrier, a `kernel_info_request`.
 *    The kernel handles shell requests in order and publishes iopub in order, so once the
 *    barrier's reply AND its iopub `idle` have arrived, every request sent before it that reached
 *    the kernel has finished and all its messages were delivered (live or replayed). A request
 *    sent before the drop that is still not done at that point was lost (never delivered, its
 *    answers were in flight when the connection was cut, or the kernel restarted meanwhile): the
 *    run ends with KERNEL_DIED naming the cell, it is not resent.
 *
 * Spec: docs/jupyter-protocol.md; https://jupyter-client.readthedocs.io/en/stable/messaging.html#execute
 * @module
 */
import { NbtError } from '../errors.js';
import { redactCutStrings } from '../redact.js';
import type { PlannedCell } from '../notebook/model.js';
import { OutputStore } from '../notebook/outputs.js';
import { WidgetStore } from '../notebook/widgets.js';
import type { KernelChannel } from './channel.js';
import { executeRequest, isExecuteReply, isStatus, makeRequest, parentId, type Message } from './messages.js';
import type { CellRun, CellStatus, ExecuteOptions, ExecuteResult } from './execution-types.js';
import { SeenIds } from './reconnect.js';

export type { CellRun, CellStatus, ExecuteOptions, ExecuteResult, ProgressEvent } from './execution-types.js';

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
/** How long a run with no cell to send waits for the kernel's language_info. */
const INFO_WAIT_MS = 60_000;

/** Runs the cells; always resolves (the outcome is in `failure`), never rejects. */
export function executeCells(initial: KernelChannel, cells: PlannedCell[], opts: ExecuteOptions): Promise<ExecuteResult> {
  const now = opts.now ?? Date.now;
  const outputs = new OutputStore(opts.maxOutputChars, opts.secrets);
  const widgets = new WidgetStore(opts.maxOutputChars);
  const result: ExecuteResult = { cells: [], outputs, widgets, warnings: [], started: 0, reconnects: 0 };
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
  let channel = initial;
  let head = 0;
  /** Requests handed to a socket (queue order is send order). */
  let sent = 0;
  /** Requests that should have been sent; the gap to `sent` waits while the channel is down. */
  let target = 0;
  let finished = false;
  let deadlineTimer: NodeJS.Timeout | undefined;
  /** The timed-out cell whose last output is awaited after the interrupt. */
  let grace: Pending | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  /** With no cell to run: the bound on the wait for the kernel_info_reply. */
  let infoTimer: NodeJS.Timeout | undefined;
  let connected = true;
  let drops = 0;
  const seen = new SeenIds();
  /** Barrier id → how many requests it covers, and what has come back for it. */
  const barriers = new Map<string, { covers: number; replied: boolean; idle: boolean }>();
  const reconnecting = new AbortController();
  /** The session id the kernel process signs its messages with (the first one seen). */
  let kernelSession: string | undefined;

  return new Promise<ExecuteResult>((resolve) => {
    const finish = (failure?: NbtError): void => {
      if (finished) return;
      finished = true;
      reconnecting.abort();
      clearTimeout(deadlineTimer);
      clearTimeout(graceTimer);
      clearTimeout(infoTimer);
      if (seen.duplicates > 0) result.warnings.push(`${seen.duplicates} duplicate kernel message(s) ignored after reconnecting`);
      result.warnings.push(...widgets.warnings);
      for (const p of queue) clearTimeout(p.timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (failure && !result.failure) result.failure = failure;
      if (result.failure?.code === 'KERNEL_DIED' && result.started > 0) {
        result.failure = new NbtError('KERNEL_DIED', result.failure.message, { details: result.failure.details, retryable: false });
      }
      resolve(result);
    };
    // The kernel answers in order: the first cell without a reply is the one it is working on
    // (its busy may never have been published if the kernel died at once).
    const currentCell = (): Pending | undefined => queue.slice(head).find((p) => !p.done && !p.replied) ?? queue.slice(head).find((p) => !p.done);
    const failAtCurrent = (code: 'KERNEL_DIED' | 'SERVER_UNREACHABLE' | 'TIMEOUT' | 'CANCELLED' | 'PROTOCOL_ERROR', message: string,
      status?: CellStatus, retryable?: boolean): void => {
      const cur = currentCell();
      if (cur && status) cur.run.status = status;
      if (cur && code === 'KERNEL_DIED' && cur.run.startedAt === undefined && cur.msgId !== '' && result.started > 0) cur.run.startedAt = now();
      if (cur && cur.run.startedAt !== undefined) cur.run.endedAt = now();
      const details = cur ? { cellIndex: cur.cell.index } : {};
      finish(new NbtError(code, message, { details, ...(retryable === undefined ? {} : { retryable }) }));
    };
    const onAbort = (): void => failAtCurrent('CANCELLED', 'run cancelled');

    const arm = (p: Pending): void => {
      if (opts.cellTimeoutMs === undefined || p.timer || p.done) return;
      p.timer = setTimeout(() => failAtCurrentTimeout(p), opts.cellTimeoutMs);
    };
    const failAtCurrentTimeout = (p: Pending): void => timeOut(p, `cell ${p.cell.index} exceeded its ${(opts.cellTimeoutMs! / 1000).toFixed(1)} s timeout`);
    /** A timeout: interrupt, then wait (bounded) for the cell's last output, as nbclient does. */
    const timeOut = (p: Pending | undefined, message: string): void => {
      if (finished || grace) return;
      if (p) {
        p.run.status = 'timed_out';
        p.run.endedAt = now();
      }
      result.failure = new NbtError('TIMEOUT', message, { details: p ? { cellIndex: p.cell.index } : {} });
      if (!p || !opts.interrupt || !connected || p.msgId === '') return finish();
      grace = p;
      result.interrupted = true;
      opts.interrupt().catch(() => undefined);
      graceTimer = setTimeout(() => finish(), opts.graceMs ?? 2000);
    };

    const sendNext = (count: number): void => {
      target = Math.min(queue.length, target + count);
      flush();
    };
    const flush = (): void => {
      // A socket that is already closing is not used: a request written there is surely lost, and
      // it would count as sent (never resent). The close event follows and the reconnect sends it.
      if (!connected || !channel.open) return;
      const batch: Message[] = [];
      while (sent < target) {
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
      if (finished || seen.check(m.header.msg_id)) return;
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
      // Every kernel process signs its messages with its own session id: a new one on the shell
      // channel or in a busy/idle status means another kernel process answers now (a restart by
      // another client or by the server), even when the old one's shutdown_reply never reached us.
      if (m.channel === 'shell' || (isStatus(m) && m.content.execution_state !== 'starting')) {
        kernelSession ??= m.header.session;
        if (m.header.session !== kernelSession) {
          const message = 'kernel was restarted by the server or another client (a new kernel process answers)';
          return failAtCurrent('KERNEL_DIED', message, 'error');
        }
      }
      const pid = parentId(m);
      const barrier = pid === undefined ? undefined : barriers.get(pid);
      if (barrier) {
        if (m.channel === 'shell' && m.header.msg_type === 'kernel_info_reply') barrier.replied = true;
        else if (isStatus(m) && m.content.execution_state === 'idle') barrier.idle = true;
        if (barrier.replied && barrier.idle) {
          barriers.delete(pid!);
          checkBarrier(barrier.covers);
        }
        return;
      }
      if (pid === infoRequest.header.msg_id) {
        if (m.header.msg_type === 'kernel_info_reply') {
          const info = m.content.language_info;
          if (typeof info === 'object' && info !== null) result.languageInfo = info as Record<string, unknown>;
          // With no cell to send, the reply was all the run waited for (nbclient asks for it as well).
          if (queue.length === 0) finish();
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
            if (p === grace) return void (p.replied && finish());
            settle(p);
          }
        } else if (type === 'execute_input') {
          if (typeof m.content.execution_count === 'number') p.run.executionCount = m.content.execution_count;
        } else if (type === 'comm_open' || type === 'comm_msg' || type === 'comm_close') {
          widgets.comm(type, m.content, m.buffers);
        } else {
          // The server sends this notice each time a cell's output crosses the limit again: warn once per cell.
          if (type === 'stream' && typeof m.content.text === 'string' && RATE_LIMIT_RE.test(m.content.text) && !rateLimited.has(p.cell.index)) {
            rateLimited.add(p.cell.index);
            result.warnings.push(`cell ${p.cell.index}: the Jupyter server's iopub rate limit dropped output (${RATE_LIMIT_RE.exec(m.content.text)![0]})`);
          }
          // A frame the channel clipped was cut inside its long strings, unredacted: a cut may end inside the token.
          if (m.clipped && opts.secrets) m.content = redactCutStrings(m.content, opts.secrets);
          // Output an Output widget captures is the widget's; its display id still refreshes the cell's displays.
          if (widgets.capture(p.msgId, type, m.content, m.clipped)) {
            if (type === 'display_data' || type === 'execute_result') {
              outputs.apply(p.cell.index, 'update_display_data', m.content);
            }
            return;
          }
          outputs.apply(p.cell.index, type, m.content);
          if (m.clipped) outputs.truncate(p.cell.index);
        }
        return;
      }
      if (isExecuteReply(m)) {
        const c = m.content;
        p.replied = true;
        if (p === grace) return void (p.idle && finish()); // stays timed_out: its KeyboardInterrupt is not a cell error
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
    /** Every request sent before the barrier must be done by now; one that is not was lost. */
    const checkBarrier = (covers: number): void => {
      const lost = queue.slice(0, covers).filter((p) => !p.done);
      if (lost.length === 0) return;
      for (const p of lost) {
        if (p.run.startedAt !== undefined) {
          p.run.status = 'error';
          p.run.endedAt = now();
        }
      }
      const first = lost[0]!;
      finish(new NbtError('KERNEL_DIED', `kernel channel was restored, but cell ${first.cell.index} (sent before the connection dropped) ` +
        `${first.run.startedAt === undefined ? 'never started' : 'never finished'}: its request or its answers were lost with the connection, ` +
        'or the kernel restarted meanwhile; not resent, so it cannot run twice', { details: { cellIndex: first.cell.index, lostCells: lost.map((p) => p.cell.index) } }));
    };
    const onClose = (err: NbtError): void => {
      if (finished) return;
      if (err.code === 'PROTOCOL_ERROR' || !opts.reconnect) {
        // A protocol error keeps its own verdict (a frame over the limit would be too big again on a redelivery).
        return err.code === 'PROTOCOL_ERROR' ? failAtCurrent('PROTOCOL_ERROR', err.message, 'error', err.retryable)
          : failAtCurrent('KERNEL_DIED', err.message, 'error');
      }
      if (++drops > (opts.maxReconnects ?? 10)) {
        return failAtCurrent('KERNEL_DIED', `${err.message}; the channel dropped ${drops} times, giving up`, 'error');
      }
      connected = false;
      opts.reconnect(err, reconnecting.signal).then((ch) => {
        if (finished) return ch.close();
        channel = ch;
        connected = true;
        result.reconnects++;
        result.warnings.push(`kernel channel dropped (${err.message}); reconnected with the same session and resumed`);
        // The barrier goes first, before any new request, and covers everything sent so far.
        const barrier = makeRequest(opts.session, 'kernel_info_request', {});
        barriers.set(barrier.header.msg_id, { covers: sent, replied: false, idle: false });
        ch.send(barrier);
        ch.listen(onMessage, onClose, discardable); // delivers what arrived early (may settle cells, or report a close)
        if (!finished && channel === ch) flush();
      }, (e: unknown) => {
        // A server that cannot be reached before any cell started is that (retryable, nothing ran);
        // once a cell started, the kernel went with the server.
        const unreachable = (e as NbtError)?.code === 'SERVER_UNREACHABLE' && result.started === 0;
        failAtCurrent(unreachable ? 'SERVER_UNREACHABLE' : 'KERNEL_DIED', (e as Error)?.message ?? String(e), 'error');
      });
    };
    // Stream text for a cell that keeps no more output (or for no pending cell) is not decoded at all.
    const discardable = (m: Message): boolean => {
      const p = byMsg.get(m.parent_header.msg_id ?? '');
      return p === undefined || p.done || outputs.truncated(p.cell.index);
    };
    const failedPosition = (): number => {
      const idx = result.failure?.details.cellIndex;
      return queue.find((q) => q.cell.index === idx)?.position ?? Infinity;
    };

    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    channel.listen(onMessage, onClose, discardable);
    if (opts.deadline !== undefined) {
      const ms = Math.max(0, opts.deadline - now());
      deadlineTimer = setTimeout(() => timeOut(currentCell(), `run exceeded its deadline (${(ms / 1000).toFixed(1)} s left at start)`), ms);
    }
    channel.send(infoRequest);
    if (queue.length === 0) {
      // Bounded: a kernel that never answers leaves the notebook's own language_info, nothing more.
      infoTimer = setTimeout(() => finish(), opts.cellTimeoutMs ?? INFO_WAIT_MS);
      return;
    }
    sendNext(opts.sequential ? 1 : queue.length);
    arm(queue[0]!);
  });
}
