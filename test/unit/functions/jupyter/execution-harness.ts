/** A clock, a scripted kernel's messages and an effect log around the execution machine (no socket, no timer). */
import type { Effect, MachineConfig } from '../../../../functions/jupyter/execution-events.js';
import { ExecutionMachine } from '../../../../functions/jupyter/execution-machine.js';
import type { Message } from '../../../../functions/jupyter/messages.js';
import type { PlannedCell } from '../../../../functions/notebook/model.js';

export const KERNEL = 'kernel-session';
let ids = 0;

export function cells(n: number, o: Partial<PlannedCell> = {}): PlannedCell[] {
  return Array.from({ length: n }, (_, i) => ({ index: i, source: `c${i}`, skip: false, allowError: false, ...o }));
}

export function msg(
  parent: Message | string,
  channel: Message['channel'],
  type: string,
  content: Record<string, unknown>,
  session = KERNEL,
): Message {
  const pid = typeof parent === 'string' ? parent : parent.header.msg_id;
  return {
    header: { msg_id: `k${++ids}`, session, username: 'k', date: '', msg_type: type, version: '5.3' },
    parent_header: { msg_id: pid },
    metadata: {},
    content,
    channel,
  };
}
export const status = (req: Message, state: string, session?: string): Message =>
  msg(req, 'iopub', 'status', { execution_state: state }, session);
export const reply = (req: Message, st: string, extra: Record<string, unknown> = {}): Message =>
  msg(req, 'shell', 'execute_reply', { status: st, execution_count: 1, ...extra });
export const stream = (req: Message, text: string): Message => msg(req, 'iopub', 'stream', { name: 'stdout', text });

/** A machine with a clock and a log of every effect, and the requests it sent. */
export class Harness {
  readonly m: ExecutionMachine;
  readonly effects: Effect[] = [];
  t = 1000;
  constructor(n: number | PlannedCell[], config: Partial<MachineConfig> = {}) {
    this.m = new ExecutionMachine(typeof n === 'number' ? cells(n) : n, {
      session: 'client',
      maxOutputChars: 1000,
      ...config,
    });
  }
  take(effects: Effect[]): Effect[] {
    this.effects.push(...effects);
    return effects;
  }
  start(writable = true): Effect[] {
    return this.take(this.m.onStart(this.t, writable));
  }
  deliver(...ms: Message[]): Effect[] {
    return ms.flatMap((m) => this.take(this.m.onMessage(m, this.t, true)));
  }
  /** The execute_requests sent so far (info and barrier requests left out). */
  get executes(): Message[] {
    return this.sent.filter((m) => m.header.msg_type === 'execute_request');
  }
  get sent(): Message[] {
    return this.effects.flatMap((e) => (e.type === 'send' ? e.messages : []));
  }
  /** A cell's whole answer: busy, output, reply, idle. */
  run(req: Message, st = 'ok', extra: Record<string, unknown> = {}): Effect[] {
    return this.deliver(
      status(req, 'busy'),
      stream(req, `out ${String(req.content.code)}`),
      reply(req, st, extra),
      status(req, 'idle'),
    );
  }
  get finished(): boolean {
    return this.effects.some((e) => e.type === 'finish');
  }
  types(effects: Effect[] = this.effects): string[] {
    return effects.map((e) => e.type);
  }
}
