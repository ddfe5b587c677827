/**
 * Executes a notebook's code cells over one kernel channel: the thin driver of the execution
 * machine (execution-machine.ts, where what happens on each protocol event is decided). The
 * driver owns what the machine may not touch: the channel (and the ones the reconnector opens),
 * the timers, the clock, the cancellation signal and the callbacks; it hands every event to the
 * machine with the time and carries out the effects the machine returns, in order.
 *
 * Spec: docs/jupyter-protocol.md; https://jupyter-client.readthedocs.io/en/stable/messaging.html#execute
 * @module
 */
import { isNbtError, type NbtError } from '../errors.js';
import type { PlannedCell } from '../notebook/model.js';
import type { KernelChannel } from './channel.js';
import type { Effect, TimerId } from './execution-events.js';
import { ExecutionMachine } from './execution-machine.js';
import type { ExecuteOptions, ExecuteResult } from './execution-types.js';
import type { Message } from './messages.js';

export type { CellRun, CellStatus, ExecuteOptions, ExecuteResult, ProgressEvent } from './execution-types.js';

/** Runs the cells; always resolves (the outcome is in `failure`), never rejects. */
export function executeCells(
  initial: KernelChannel,
  cells: PlannedCell[],
  opts: ExecuteOptions,
): Promise<ExecuteResult> {
  const now = opts.now ?? Date.now;
  const machine = new ExecutionMachine(cells, {
    session: opts.session,
    sequential: opts.sequential,
    cellTimeoutMs: opts.cellTimeoutMs,
    deadline: opts.deadline,
    answerDeadline: opts.answerDeadline,
    maxOutputChars: opts.maxOutputChars,
    secrets: opts.secrets,
    canInterrupt: opts.interrupt !== undefined,
    graceMs: opts.graceMs,
    canReconnect: opts.reconnect !== undefined,
    maxReconnects: opts.maxReconnects,
  });
  let channel = initial;
  const timers = new Map<TimerId, NodeJS.Timeout>();
  const reconnecting = new AbortController();

  return new Promise<ExecuteResult>((resolve) => {
    const apply = (effects: Effect[]): void => {
      for (const e of effects) {
        switch (e.type) {
          case 'send':
            channel.sendAll(e.messages);
            break;
          case 'listen':
            channel.listen(onMessage, onClose, discardable);
            break;
          case 'set-timer':
            timers.set(
              e.timer,
              setTimeout(() => apply(machine.onTimer(e.timer, now(), channel.open)), e.ms),
            );
            break;
          case 'clear-timer':
            clearTimeout(timers.get(e.timer));
            timers.delete(e.timer);
            break;
          case 'interrupt':
            opts.interrupt?.().catch(() => undefined);
            break;
          case 'reconnect':
            reconnect(e);
            break;
          case 'progress':
            opts.onProgress?.(e.event);
            break;
          case 'observe':
            opts.onMessage?.(e.message);
            break;
          case 'finish':
            reconnecting.abort();
            for (const t of timers.values()) clearTimeout(t);
            timers.clear();
            opts.signal?.removeEventListener('abort', onAbort);
            resolve(e.result);
            break;
        }
      }
    };
    const onMessage = (m: Message): void => apply(machine.onMessage(m, now(), channel.open));
    const onClose = (err: NbtError): void => apply(machine.onClose(err, now()));
    const discardable = (m: Message): boolean => machine.discardable(m);
    const onAbort = (): void => {
      const r: unknown = opts.signal?.reason;
      apply(machine.onAbort(now(), isNbtError(r) && r.code === 'CANCELLED' ? r.message : undefined));
    };
    const reconnect = (e: Extract<Effect, { type: 'reconnect' }>): void => {
      opts.reconnect!(e.cause, reconnecting.signal).then(
        (ch) => {
          if (machine.phase === 'finished') return ch.close();
          channel = ch;
          // The barrier, then the early frames (which may settle cells or report a close), then what waited.
          apply(machine.onReconnected(now()));
          if (channel === ch) apply(machine.onListening(now(), ch.open));
        },
        (err: unknown) => apply(machine.onReconnectFailed(err, now())),
      );
    };

    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    channel.listen(onMessage, onClose, discardable);
    apply(machine.onStart(now(), channel.open));
  });
}
