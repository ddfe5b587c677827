/**
 * What a person sees while a notebook runs: a one-line progress bar on a TTY (cells done/total,
 * current cell, elapsed), plain lines otherwise; then a summary and the last result.
 *
 * Spec: docs/running.md (progress bar on a TTY, plain lines otherwise).
 * @module
 */
import type { ProgressEvent } from '../../functions/jupyter/executor.js';
import type { RunRecord } from '../../functions/run/record.js';

export interface ProgressOptions {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  now?: () => number;
}

/** Reports cell progress; call `end()` before printing anything else. */
export class Progress {
  private done = 0;
  private total = 0;
  private current: number | undefined;
  private readonly start: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;
  private readonly now: () => number;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? Date.now;
    this.start = this.now();
    this.tty = opts.out.isTTY === true;
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 200);
      this.timer.unref();
    }
  }

  /** The number of cells that will run is known. */
  plan(total: number): void {
    this.total = total;
    if (!this.tty) this.opts.out.write(`running ${total} code cell${total === 1 ? '' : 's'}\n`);
    this.draw();
  }

  update(e: ProgressEvent): void {
    this.total = e.total;
    if (e.type === 'start') this.current = e.cellIndex;
    else {
      this.done = e.position;
      if (!this.tty) this.opts.out.write(`[${e.position}/${e.total}] cell ${e.cellIndex} done (${this.elapsed()})\n`);
    }
    this.draw();
  }

  /** Clears the bar. */
  end(): void {
    clearInterval(this.timer);
    if (this.tty) this.opts.out.write('\r\x1b[2K');
  }

  private elapsed(): string {
    return `${((this.now() - this.start) / 1000).toFixed(1)} s`;
  }

  private draw(): void {
    if (!this.tty) return;
    const width = 24;
    const filled = this.total === 0 ? 0 : Math.round((this.done / this.total) * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const cell = this.current === undefined ? 'starting kernel' : `cell ${this.current}`;
    const line = `${bar} ${this.done}/${this.total}  ${cell}  ${this.elapsed()}`;
    this.opts.out.write(`\r\x1b[2K${line.slice(0, (this.opts.out.columns ?? 80) - 1)}`);
  }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** The human summary of a finished run (what follows the progress bar); the last result is printed apart. */
export function summary(record: RunRecord, color: boolean): string {
  const secs = (record.durationMs / 1000).toFixed(2);
  const c = record.cells;
  const lines: string[] = [];
  const name = record.notebook ?? 'notebook';
  const paint = (code: string, s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  if (record.status === 'succeeded') {
    const cells = `${c.executed} cell${c.executed === 1 ? '' : 's'} run, ${c.skipped} skipped`;
    lines.push(`${paint('32', '✓')} ${name} succeeded in ${secs} s (${cells})`);
  } else {
    const e = record.error;
    const where = e?.cellIndex !== undefined ? ` at cell ${e.cellIndex}` : '';
    lines.push(
      `${paint('31', '✗')} ${name} ${record.status.replace('_', ' ')}${where} after ${secs} s: ${e?.message ?? ''}`,
    );
    if (e?.traceback?.length) {
      const tb = e.traceback.join('\n');
      lines.push(color ? tb : tb.replace(ANSI, ''));
    }
    if (c.aborted > 0) lines.push(`${c.aborted} cell${c.aborted === 1 ? '' : 's'} not run`);
  }
  for (const w of record.warnings) lines.push(`warning: ${w}`);
  const outputs = (record as { outputs?: { notebook?: string; html?: string } }).outputs;
  if (outputs?.notebook) lines.push(`executed notebook: ${outputs.notebook}`);
  if (outputs?.html) lines.push(`html: ${outputs.html}`);
  return `${lines.join('\n')}\n`;
}
