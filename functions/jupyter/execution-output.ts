/**
 * What a cell's iopub messages other than `status` do to the run: execution counts, widget
 * comms, and outputs (with the Output widget's capture, the iopub rate-limit notice and frames
 * the channel clipped at the output cap); and what an error reply does to it. Pure: part of the
 * execution machine's steps.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/stable/messaging.html#messages-on-the-iopub-pub-sub-channel
 * @module
 */
import { NbtError } from '../errors.js';
import { redactCutStrings } from '../redact.js';
import type { PendingCell } from './execution-events.js';
import type { ExecuteResult } from './execution-types.js';
import type { ExecuteReplyContent, Message } from './messages.js';

/** The server's notice that it dropped output over its iopub rate limit. */
export const RATE_LIMIT_RE = /IOPub (data|message) rate exceeded/;

/** The parts of the machine's state an output touches. */
export interface OutputState {
  readonly result: ExecuteResult;
  /** Cells already warned about the rate limit (the server repeats the notice). */
  readonly rateLimited: Set<number>;
  readonly config: { secrets?: readonly string[] };
}

/** Handles one iopub message of cell `p` that is not a status. */
export function onCellOutput(s: OutputState, p: PendingCell, m: Message): void {
  const type = m.header.msg_type;
  const { outputs, widgets } = s.result;
  if (type === 'execute_input') {
    if (typeof m.content.execution_count === 'number') p.run.executionCount = m.content.execution_count;
    return;
  }
  if (type === 'comm_open' || type === 'comm_msg' || type === 'comm_close') {
    widgets!.comm(type, m.content, m.buffers);
    return;
  }
  // The server sends this notice each time a cell's output crosses the limit again: warn once per cell.
  const text = type === 'stream' && typeof m.content.text === 'string' ? m.content.text : undefined;
  const notice = text === undefined ? null : RATE_LIMIT_RE.exec(text);
  if (notice && !s.rateLimited.has(p.cell.index)) {
    s.rateLimited.add(p.cell.index);
    s.result.warnings.push(`cell ${p.cell.index}: the Jupyter server's iopub rate limit dropped output (${notice[0]})`);
  }
  // A frame the channel clipped was cut inside its long strings, unredacted: a cut may end inside the token.
  const secrets = s.config.secrets;
  if (m.clipped && secrets) m.content = redactCutStrings(m.content, secrets);
  // Output an Output widget captures is the widget's; its display id still refreshes the cell's displays.
  if (widgets!.capture(p.msgId, type, m.content, m.clipped)) {
    if (type === 'display_data' || type === 'execute_result') {
      outputs.apply(p.cell.index, 'update_display_data', m.content);
    }
    return;
  }
  outputs.apply(p.cell.index, type, m.content);
  if (m.clipped) outputs.truncate(p.cell.index);
}

/** An execute_reply with status `error`: the cell's error, and the run's failure unless allowed or already failed. */
export function onCellError(result: ExecuteResult, p: PendingCell, c: ExecuteReplyContent): void {
  p.run.status = 'error';
  const traceback = Array.isArray(c.traceback) ? c.traceback.map(String) : [];
  p.run.error = { ename: String(c.ename ?? ''), evalue: String(c.evalue ?? ''), traceback };
  if (p.cell.allowError || result.failure) return;
  const details = { cellIndex: p.cell.index, ...p.run.error };
  // A KeyboardInterrupt nbtrigger did not ask for (its own, after a timeout, is the grace cell's)
  // comes from outside the run: jupyter_client interrupts a kernel before every shutdown and
  // restart (the server stopping, another client restarting it), often before the shutdown_reply.
  if (p.run.error.ename === 'KeyboardInterrupt') {
    const why = 'the server stopping or restarting the kernel, or another client';
    const message = `cell ${p.cell.index} was interrupted from outside the run (KeyboardInterrupt): ${why}`;
    result.failure = new NbtError('KERNEL_DIED', message, { details });
    return;
  }
  const message = `cell ${p.cell.index} raised ${p.run.error.ename}: ${p.run.error.evalue}`;
  result.failure = new NbtError('CELL_ERROR', message, { details });
}
