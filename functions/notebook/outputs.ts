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
import { approxSize, clipText, displayId, executionCount, mimeBundle, outputMetadata } from './output-content.js';
import { RawJsonText } from './raw-text.js';
import { appendText, streamOutput, type TextPart } from './stream-text.js';
import { redactTrailingFragment } from '../redact.js';

export type Output = IOutput;

/** Marker appended to a stream cut at the cap. */
export const TRUNCATION_NOTE = '\n[nbtrigger: output truncated: this cell produced more than the output cap]\n';

interface CellOutputs {
  outputs: Output[];
  size: number;
  clearPending: boolean;
  truncated: boolean;
  /** An error output was kept past the cap (allowed once per cell). */
  errorKept: boolean;
}

type DisplayOutput = IDisplayData | IExecuteResult;

/** Collects outputs for all cells of one run. */
export class OutputStore {
  private readonly cells = new Map<number, CellOutputs>();
  /** Outputs carrying a `display_id`, with the cell that holds them (updates cross cells). */
  private readonly displays = new Map<string, { cell: number; out: DisplayOutput }[]>();
  /** Data bundle of the last `execute_result` of the run (clipped when it was over the cap). */
  lastResult: IMimeBundle | undefined;
  /** Cells whose output was truncated, in order, each listed once. */
  readonly truncatedCells: number[] = [];

  /**
   * @param maxChars cap on the text a single cell keeps (strings counted in UTF-16 units).
   * @param secrets redacted where the cap cuts text: a fragment of one left at the cut would
   *   escape the redaction of the whole notebook, which sees only whole secrets.
   */
  constructor(
    private readonly maxChars: number,
    private readonly secrets: readonly string[] = [],
  ) {}

  /** `s` cut to `n`, with a fragment of a secret at the cut redacted. */
  private cut(s: string, n: number): string {
    const kept = clipText(s, n);
    return kept.length < s.length && this.secrets.length > 0 ? redactTrailingFragment(kept, this.secrets) : kept;
  }

  /** Text kept as bytes, cut to `n`: decoded (once, at the cap) only when a secret may sit at the cut. */
  private cutRaw(t: RawJsonText, n: number): TextPart {
    const kept = t.clip(n);
    if (this.secrets.length === 0) return kept;
    const text = kept.toString();
    const safe = redactTrailingFragment(text, this.secrets);
    return safe === text ? kept : safe;
  }

  /** Outputs of a cell, in order (empty when none). */
  outputs(cell: number): Output[] {
    return this.cells.get(cell)?.outputs ?? [];
  }

  /** True when the cell's current output hit the cap (a later `clear_output` starts afresh). */
  truncated(cell: number): boolean {
    return this.cells.get(cell)?.truncated ?? false;
  }

  /** Applies one iopub message (by type and content) to a cell. Unknown types are ignored. */
  apply(cell: number, msgType: string, content: Record<string, unknown>): void {
    switch (msgType) {
      case 'stream': {
        const c = this.cell(cell);
        this.flushClear(cell, c);
        const text = content.text instanceof RawJsonText ? content.text : String(content.text ?? '');
        this.stream(cell, c, String(content.name) === 'stderr' ? 'stderr' : 'stdout', text);
        return;
      }
      case 'display_data':
      case 'execute_result': {
        const c = this.cell(cell);
        this.flushClear(cell, c);
        const out: DisplayOutput =
          msgType === 'execute_result'
            ? {
                output_type: 'execute_result',
                data: mimeBundle(content.data),
                metadata: outputMetadata(content.metadata),
                execution_count: executionCount(content.execution_count),
              }
            : {
                output_type: 'display_data',
                data: mimeBundle(content.data),
                metadata: outputMetadata(content.metadata),
              };
        const id = displayId(content);
        // As in nbclient: a new output with a known display_id also refreshes the earlier ones.
        if (id !== undefined) this.update(id, out.data, out.metadata);
        const kept = this.push(cell, c, out, id);
        if (msgType === 'execute_result') {
          this.lastResult = kept ? out.data : clippedResult(out.data, (s, n) => this.cut(s, n), this.maxChars);
        }
        return;
      }
      case 'update_display_data': {
        const id = displayId(content);
        if (id !== undefined) this.update(id, mimeBundle(content.data), outputMetadata(content.metadata));
        return;
      }
      case 'error': {
        const c = this.cell(cell);
        this.flushClear(cell, c);
        this.error(cell, c, {
          output_type: 'error',
          ename: String(content.ename ?? ''),
          evalue: String(content.evalue ?? ''),
          traceback: Array.isArray(content.traceback) ? content.traceback.map(String) : [],
        });
        return;
      }
      case 'clear_output': {
        const c = this.cell(cell);
        if (content.wait === true) c.clearPending = true;
        else this.clear(cell, c);
        return;
      }
      default:
    }
  }

  private cell(i: number): CellOutputs {
    let c = this.cells.get(i);
    if (!c) {
      c = { outputs: [], size: 0, clearPending: false, truncated: false, errorKept: false };
      this.cells.set(i, c);
    }
    return c;
  }

  private flushClear(cell: number, c: CellOutputs): void {
    if (c.clearPending) this.clear(cell, c);
  }

  /** Drops a cell's outputs, forgets their display ids (no leak), and lifts the cap state. */
  private clear(cell: number, c: CellOutputs): void {
    c.outputs = [];
    c.size = 0;
    c.clearPending = false;
    c.truncated = false;
    c.errorKept = false;
    for (const [id, list] of this.displays) {
      const left = list.filter((e) => e.cell !== cell);
      if (left.length === 0) this.displays.delete(id);
      else if (left.length !== list.length) this.displays.set(id, left);
    }
  }

  /** Rewrites every output with `id`, in any cell, keeping each cell under its cap. */
  private update(id: string, data: IMimeBundle, metadata: DisplayOutput['metadata']): void {
    for (const e of this.displays.get(id) ?? []) {
      const c = this.cell(e.cell);
      const delta = approxSize({ data, metadata }) - approxSize({ data: e.out.data, metadata: e.out.metadata });
      if (c.size + delta > this.maxChars) {
        if (!c.truncated) {
          this.markTruncated(e.cell, c);
          c.outputs.push({ output_type: 'stream', name: 'stderr', text: TRUNCATION_NOTE });
        }
        continue;
      }
      c.size += delta;
      if (e.out.output_type === 'execute_result' && this.lastResult === e.out.data) this.lastResult = data;
      e.out.data = data;
      e.out.metadata = metadata;
    }
  }

  /** Text kept as bytes (raw-text.ts) stays bytes: clipped at the cap, never decoded here. */
  private stream(cell: number, c: CellOutputs, name: 'stdout' | 'stderr', text: TextPart): void {
    if (c.truncated) return;
    const room = Math.max(0, this.maxChars - c.size);
    const pieces: TextPart[] = [text];
    if (text.length > room) {
      pieces[0] = typeof text === 'string' ? this.cut(text, room) : this.cutRaw(text, room);
      pieces.push(TRUNCATION_NOTE);
      this.markTruncated(cell, c);
    }
    for (const p of pieces) c.size += p.length;
    const last = c.outputs[c.outputs.length - 1] as IStream | undefined;
    // Merged as a list of pieces, never concatenated: see stream-text.ts.
    if (last && last.output_type === 'stream' && last.name === name) for (const p of pieces) appendText(last, p);
    else c.outputs.push(streamOutput(name, pieces));
  }

  /** Adds an output if it fits; returns false when the cap dropped it. */
  private push(cell: number, c: CellOutputs, out: DisplayOutput, id: string | undefined): boolean {
    if (c.truncated) return false;
    const size = approxSize(out);
    if (c.size + size > this.maxChars) {
      this.markTruncated(cell, c);
      c.outputs.push({ output_type: 'stream', name: 'stderr', text: TRUNCATION_NOTE });
      return false;
    }
    c.size += size;
    c.outputs.push(out);
    if (id !== undefined) {
      const list = this.displays.get(id);
      if (list) list.push({ cell, out });
      else this.displays.set(id, [{ cell, out }]);
    }
    return true;
  }

  /**
   * Error outputs say why a cell failed, so one per cell is kept even past the cap,
   * bounded on its own: `ename` and `evalue` clipped and only the last traceback frames that fit.
   */
  private error(cell: number, c: CellOutputs, err: IError): void {
    const size = approxSize(err);
    if (!c.truncated && c.size + size <= this.maxChars) {
      c.size += size;
      c.outputs.push(err);
      return;
    }
    if (c.errorKept) return;
    c.errorKept = true;
    if (!c.truncated) {
      this.markTruncated(cell, c);
      c.outputs.push({ output_type: 'stream', name: 'stderr', text: TRUNCATION_NOTE });
    }
    const ename = this.cut(err.ename, this.maxChars);
    const evalue = this.cut(err.evalue, this.maxChars);
    let budget = this.maxChars - ename.length - evalue.length;
    const frames: string[] = [];
    for (let i = err.traceback.length - 1; i >= 0 && budget >= err.traceback[i]!.length; i--) {
      frames.unshift(err.traceback[i]!);
      budget -= err.traceback[i]!.length;
    }
    c.outputs.push({ ...err, ename, evalue, traceback: frames });
  }

  /**
   * Marks a cell truncated because part of a message never reached the store (the channel cut a
   * huge frame): the note is added once, like a cut made here.
   */
  truncate(cell: number): void {
    const c = this.cell(cell);
    if (c.truncated) return;
    this.markTruncated(cell, c);
    c.outputs.push({ output_type: 'stream', name: 'stderr', text: TRUNCATION_NOTE });
  }

  private markTruncated(cell: number, c: CellOutputs): void {
    c.truncated = true;
    if (!this.truncatedCells.includes(cell)) this.truncatedCells.push(cell);
  }
}

/** A result over the cap keeps only a clipped `text/plain` (or nothing but the note). */
function clippedResult(data: IMimeBundle, cut: (s: string, n: number) => string, maxChars: number): IMimeBundle {
  const plain = data['text/plain'];
  const text = plain === undefined ? '' : Array.isArray(plain) ? plain.join('') : String(plain);
  return { 'text/plain': cut(text, maxChars) + TRUNCATION_NOTE.trimEnd() };
}
