/**
 * Kernel messages for the OutputStore tests (functions/notebook/outputs.ts): builders of the iopub
 * messages a cell sends (stream, display, update, result, clear_output, error), a store fed with
 * them, and a compact view of the outputs it keeps.
 */
import { OutputStore, type Output } from '../../../../functions/notebook/outputs.js';

export type Msg = [cell: number, type: string, content: Record<string, unknown>];

export const out = (s: string, text: string) => ['stream', s === 'e' ? 'stderr' : 'stdout', text] as const;
export const stdout = (cell: number, text: string): Msg => [cell, 'stream', { name: 'stdout', text }];
export const stderr = (cell: number, text: string): Msg => [cell, 'stream', { name: 'stderr', text }];
export const display = (cell: number, text: string, id?: string, metadata: Record<string, unknown> = {}): Msg => [
  cell,
  'display_data',
  { data: { 'text/plain': text }, metadata, ...(id ? { transient: { display_id: id } } : {}) },
];
export const update = (
  cell: number,
  text: string,
  id: string | undefined,
  metadata: Record<string, unknown> = {},
): Msg => [
  cell,
  'update_display_data',
  { data: { 'text/plain': text }, metadata, ...(id ? { transient: { display_id: id } } : {}) },
];
export const result = (cell: number, text: string, n: unknown = 1, id?: string): Msg => [
  cell,
  'execute_result',
  { data: { 'text/plain': text }, metadata: {}, execution_count: n, ...(id ? { transient: { display_id: id } } : {}) },
];
export const clear = (cell: number, wait?: boolean): Msg => [cell, 'clear_output', wait === undefined ? {} : { wait }];
export const error = (cell: number, ename: string, evalue: string, traceback: unknown): Msg => [
  cell,
  'error',
  { ename, evalue, traceback },
];

export function feed(msgs: Msg[], maxChars = 1_000_000): OutputStore {
  const s = new OutputStore(maxChars);
  for (const [cell, type, content] of msgs) s.apply(cell, type, content);
  return s;
}

/** A compact view of outputs: [kind, name-or-type, text] rows. */
export function view(outputs: Output[]): unknown[] {
  return outputs.map((o) => {
    switch (o.output_type) {
      case 'stream':
        return ['stream', o.name, o.text];
      case 'display_data':
        return ['display', (o.data as Record<string, unknown>)['text/plain']];
      case 'execute_result':
        return ['result', (o.data as Record<string, unknown>)['text/plain'], o.execution_count];
      case 'error':
        return ['error', o.ename, o.evalue, o.traceback];
      default:
        return ['?', o.output_type];
    }
  });
}
