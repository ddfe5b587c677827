/**
 * Output folding: turns iopub messages into nbformat 4 outputs the way Jupyter front ends
 * and nbclient do: consecutive stream text merged, `clear_output` (also `wait=True`) honoured,
 * `update_display_data` rewriting every earlier output with the same `display_id`, and a
 * per-cell size cap so no output grows memory without bound. Pure.
 *
 * Spec: https://nbformat.readthedocs.io/en/latest/format_description.html#code-cell-outputs and
 * https://jupyter-client.readthedocs.io/en/stable/messaging.html#display-data .
 * @module
 */
import type { IDisplayData, IError, IExecuteResult, IMimeBundle, IOutput, IStream } from '@jupyterlab/nbformat';

export type Output = IOutput;

/** Marker appended to a stream cut at the cap. */
export const TRUNCATION_NOTE = '\n[nbtrigger: output truncated: this cell produced more than the output cap]\n';

interface CellOutputs {
  outputs: Output[];
  size: number;
  clearPending: boolean;
  truncated: boolean;
}

/** Collects outputs for all cells of one run. */
export class OutputStore {
  private readonly cells = new Map<number, CellOutputs>();
  private readonly displays = new Map<string, Output[]>();
  /** Data bundle of the last `execute_result` of the run. */
  lastResult: IMimeBundle | undefined;
  /** Cells whose output was truncated, in order. */
  readonly truncatedCells: number[] = [];

  /** @param maxChars cap on the text a single cell keeps (strings counted in UTF-16 units). */
  constructor(private readonly maxChars: number) {}

  /** Outputs of a cell, in order (empty when none). */
  outputs(cell: number): Output[] {
    return this.cells.get(cell)?.outputs ?? [];
  }

  /** True when the cell's output hit the cap. */
  truncated(cell: number): boolean {
    return this.cells.get(cell)?.truncated ?? false;
  }

  /** Applies one iopub message (by type and content) to a cell. Unknown types are ignored. */
  apply(cell: number, msgType: string, content: Record<string, unknown>): void {
    const c = this.cell(cell);
    switch (msgType) {
      case 'stream':
        this.flushClear(c);
        this.stream(cell, c, String(content.name) === 'stderr' ? 'stderr' : 'stdout', String(content.text ?? ''));
        return;
      case 'display_data':
      case 'execute_result': {
        this.flushClear(c);
        const out: IDisplayData | IExecuteResult = msgType === 'execute_result'
          ? { output_type: 'execute_result', data: bundle(content.data), metadata: meta(content.metadata), execution_count: count(content.execution_count) }
          : { output_type: 'display_data', data: bundle(content.data), metadata: meta(content.metadata) };
        if (msgType === 'execute_result') this.lastResult = out.data;
        this.push(cell, c, out, displayId(content));
        return;
      }
      case 'update_display_data': {
        const id = displayId(content);
        if (id === undefined) return;
        for (const o of this.displays.get(id) ?? []) {
          (o as IDisplayData).data = bundle(content.data);
          (o as IDisplayData).metadata = meta(content.metadata);
        }
        return;
      }
      case 'error': {
        this.flushClear(c);
        const err: IError = { output_type: 'error', ename: String(content.ename ?? ''), evalue: String(content.evalue ?? ''),
          traceback: Array.isArray(content.traceback) ? content.traceback.map(String) : [] };
        this.push(cell, c, err, undefined);
        return;
      }
      case 'clear_output':
        if (content.wait === true) c.clearPending = true;
        else this.clear(c);
        return;
      default:
    }
  }

  private cell(i: number): CellOutputs {
    let c = this.cells.get(i);
    if (!c) {
      c = { outputs: [], size: 0, clearPending: false, truncated: false };
      this.cells.set(i, c);
    }
    return c;
  }

  private flushClear(c: CellOutputs): void {
    if (c.clearPending) this.clear(c);
  }

  private clear(c: CellOutputs): void {
    c.outputs = [];
    c.size = 0;
    c.clearPending = false;
  }

  private stream(cell: number, c: CellOutputs, name: 'stdout' | 'stderr', text: string): void {
    if (c.truncated) return;
    const room = this.maxChars - c.size;
    let chunk = text;
    if (chunk.length > room) {
      chunk = chunk.slice(0, Math.max(0, room)) + TRUNCATION_NOTE;
      this.markTruncated(cell, c);
    }
    c.size += chunk.length;
    const last = c.outputs[c.outputs.length - 1] as IStream | undefined;
    if (last && last.output_type === 'stream' && last.name === name) {
      last.text = (last.text as string) + chunk;
    } else {
      c.outputs.push({ output_type: 'stream', name, text: chunk });
    }
  }

  private push(cell: number, c: CellOutputs, out: Output, id: string | undefined): void {
    if (c.truncated) return;
    const size = approxSize(out);
    if (c.size + size > this.maxChars) {
      this.markTruncated(cell, c);
      c.outputs.push({ output_type: 'stream', name: 'stderr', text: TRUNCATION_NOTE });
      return;
    }
    c.size += size;
    c.outputs.push(out);
    if (id !== undefined) {
      const list = this.displays.get(id);
      if (list) list.push(out);
      else this.displays.set(id, [out]);
    }
  }

  private markTruncated(cell: number, c: CellOutputs): void {
    c.truncated = true;
    this.truncatedCells.push(cell);
  }
}

function bundle(v: unknown): IMimeBundle {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as IMimeBundle) : {};
}

function meta(v: unknown): Record<string, never> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, never>) : {};
}

function count(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

function displayId(content: Record<string, unknown>): string | undefined {
  const t = content.transient;
  if (typeof t === 'object' && t !== null && typeof (t as Record<string, unknown>).display_id === 'string') {
    return (t as Record<string, string>).display_id;
  }
  return undefined;
}

/** Cheap size estimate: the length of the strings in a bundle (no serialization on the hot path). */
function approxSize(out: Output): number {
  let n = 0;
  const walk = (v: unknown): void => {
    if (typeof v === 'string') n += v.length;
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
    else n += 8;
  };
  walk(out);
  return n;
}
