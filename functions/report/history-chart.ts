/**
 * Inline SVG charts of run history, pure: one panel per notebook, durations over time as a line,
 * each run a dot coloured by its outcome (with a tooltip). All panels share the time axis, so runs
 * of different notebooks line up. No script, no external asset; all text escaped.
 *
 * Spec: docs/function.md (a chart of durations and outcomes over time per notebook).
 * @module
 */
import type { RunStatus } from '../run/record.js';
import type { JobRunState } from './job-runs.js';
import { escapeHtml, formatDuration } from './escape.js';
import { formatWhen, type RunRow } from './history.js';

/** Colours of the outcomes (also used by the page's badges). */
export const STATUS_COLORS: Record<RunStatus | JobRunState, string> = {
  succeeded: '#1a7f37',
  failed: '#cf222e',
  timed_out: '#bf8700',
  error: '#6e7781',
  skipped: '#8c959f',
  dispatched: '#0969da',
  running: '#54aeff',
  lost: '#953800',
};

const W = 760;
const H = 150;
const PAD = { left: 64, right: 16, top: 14, bottom: 28 };

/** Short axis labels: `0`, `500 ms`, `12 s`, `8.3 min`, `2.1 h`. */
export function axisLabel(ms: number): string {
  if (ms === 0) return '0';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)} min`;
  return `${+(ms / 3_600_000).toFixed(1)} h`;
}

/** A "nice" upper bound for the duration axis (1, 2 or 5 × 10^n ms). */
export function niceMax(ms: number): number {
  if (!(ms > 0)) return 1000;
  const p = 10 ** Math.floor(Math.log10(ms));
  for (const m of [1, 2, 5, 10]) if (m * p >= ms) return m * p;
  return 10 * p;
}

/** Groups rows by notebook (first appearance order, i.e. most recently run first for a newest-first list). */
export function byNotebook(rows: RunRow[]): Map<string, RunRow[]> {
  const groups = new Map<string, RunRow[]>();
  for (const r of rows) {
    const g = groups.get(r.notebook);
    if (g) g.push(r);
    else groups.set(r.notebook, [r]);
  }
  return groups;
}

/** One notebook's panel as an `<svg>` element. `t0`/`t1` are the shared time range (ms since epoch). */
export function notebookChart(notebook: string, rows: RunRow[], t0: number, t1: number): string {
  const pts = rows
    .map((r) => ({ r, t: Date.parse(r.when) }))
    .filter((p) => !Number.isNaN(p.t))
    .sort((a, b) => a.t - b.t);
  const ymax = niceMax(Math.max(0, ...pts.map((p) => p.r.durationMs)));
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const span = t1 > t0 ? t1 - t0 : 1;
  const x = (t: number): number => PAD.left + (t1 > t0 ? ((t - t0) / span) * iw : iw / 2);
  const y = (ms: number): number => PAD.top + ih - (Math.max(0, ms) / ymax) * ih;
  const f = (n: number): string => n.toFixed(1);
  const grid = [0, 0.5, 1]
    .map((k) => {
      const yy = f(y(k * ymax));
      return (
        `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${yy}" y2="${yy}" class="grid"/>` +
        `<text x="${PAD.left - 6}" y="${yy}" class="ylab" text-anchor="end" dominant-baseline="middle">` +
        `${escapeHtml(axisLabel(k * ymax))}</text>`
      );
    })
    .join('');
  const line =
    pts.length > 1
      ? `<polyline class="trend" points="${pts.map((p) => `${f(x(p.t))},${f(y(p.r.durationMs))}`).join(' ')}"/>`
      : '';
  const dots = pts
    .map((p) => {
      const tip =
        `${formatWhen(p.r.when)} · ${p.r.status} · ${formatDuration(p.r.durationMs)}` +
        `${p.r.failingCell !== undefined ? ` · cell ${p.r.failingCell}` : ''}${p.r.failure ? ` · ${p.r.failure}` : ''}`;
      const status = escapeHtml(p.r.status);
      return (
        `<circle class="run ${status}" cx="${f(x(p.t))}" cy="${f(y(p.r.durationMs))}" r="4.5"` +
        ` fill="${escapeHtml(STATUS_COLORS[p.r.status] ?? '#6e7781')}" data-status="${status}">` +
        `<title>${escapeHtml(tip)}</title></circle>`
      );
    })
    .join('');
  const base = f(PAD.top + ih);
  const when = (t: number): string => escapeHtml(formatWhen(new Date(t).toISOString()));
  const xl =
    t1 > t0
      ? `<text x="${PAD.left}" y="${H - 8}" class="xlab">${when(t0)}</text>` +
        `<text x="${W - PAD.right}" y="${H - 8}" class="xlab" text-anchor="end">${when(t1)}</text>`
      : `<text x="${f(x(t0))}" y="${H - 8}" class="xlab" text-anchor="middle">${when(t0)}</text>`;
  const label = `Durations and outcomes of ${rows.length} run${rows.length === 1 ? '' : 's'} of ${notebook}`;
  const axis = `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${base}" y2="${base}" class="axis"/>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"` +
    ` role="img" aria-label="${escapeHtml(label)}">` +
    `<title>${escapeHtml(label)}</title>${grid}${axis}${line}${dots}${xl}</svg>`
  );
}

/** CSS for the charts (inlined by the page). */
export const CHART_CSS = `.chart{display:block;max-width:100%;height:auto;background:#fff;
border:1px solid #d8dee4;border-radius:6px}
.chart .grid{stroke:#eaeef2;stroke-width:1}.chart .axis{stroke:#8c959f;stroke-width:1}
.chart .trend{fill:none;stroke:#8c959f;stroke-width:1.5}.chart circle{stroke:#fff;stroke-width:1.5}
.chart text{font:11px system-ui,sans-serif;fill:#57606a}`;

/** All panels, one `<figure>` per notebook, on a shared time axis. */
export function renderCharts(rows: RunRow[]): string {
  const times = rows.map((r) => Date.parse(r.when)).filter((t) => !Number.isNaN(t));
  if (times.length === 0) return '';
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  return [...byNotebook(rows)]
    .map(
      ([nb, rs]) =>
        `<figure class="panel"><figcaption>${escapeHtml(nb)}</figcaption>${notebookChart(nb, rs, t0, t1)}</figure>`,
    )
    .join('\n');
}
