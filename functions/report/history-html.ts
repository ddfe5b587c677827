/**
 * The run-history page of `nbtrigger runs --html`, pure: one self-contained HTML document (inline CSS,
 * inline SVG, no script, no external asset) with a summary per notebook, a chart of durations and
 * outcomes over time per notebook, and the table of runs newest first. Every text is escaped; links
 * are made only for `http(s)`, `file` and `gs://` locations.
 *
 * Spec: docs/function.md (`nbtrigger runs --html report.html`).
 * @module
 */
import type { RunStatus } from '../run/record.js';
import type { JobRunState } from './job-runs.js';
import { escapeHtml, formatDuration } from './escape.js';
import { CHART_CSS, STATUS_COLORS, byNotebook, renderCharts } from './history-chart.js';
import { formatWhen, toRow, type HistoryRun, type RunRow } from './history.js';

export interface HistoryPageOptions {
  title?: string;
  /** When the page was made (shown in the header); default now. */
  generatedAt?: Date;
  /** Turns an output location into a link target, or undefined for plain text. Default: {@link defaultLink}. */
  linkFor?: (location: string) => string | undefined;
  /** What was asked for (shown under the title), e.g. `status=failed`. */
  filterText?: string;
}

/**
 * Default link targets: `gs://b/o` → the Cloud Storage authenticated download URL, an absolute path
 * → `file://`, `http(s)://` as is; `server:/…` and relative paths get no link.
 */
export function defaultLink(location: string): string | undefined {
  if (/^https?:\/\//i.test(location)) return location;
  const gs = /^gs:\/\/([^/]+)\/(.+)$/.exec(location);
  const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');
  if (gs) return `https://storage.cloud.google.com/${gs[1]}/${encodePath(gs[2]!)}`;
  if (location.startsWith('/')) return `file://${encodePath(location)}`;
  return undefined;
}

const CSS = `:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f8fa;color:#1f2328}
main{max-width:1100px;margin:0 auto;padding:24px}h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 10px}
.sub{color:#57606a;margin:0 0 16px}.legend span{margin-right:14px;white-space:nowrap}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:middle}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:10px 14px;min-width:180px}
.card b{display:block;font-size:13px;word-break:break-all}.card small{color:#57606a}
figure{margin:0 0 14px}figcaption{font-weight:600;margin:0 0 4px;word-break:break-all}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d8dee4;border-radius:6px;font-size:13px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.num{text-align:right;white-space:nowrap}td.when{white-space:nowrap}
td.err{color:#82071e;max-width:320px;word-break:break-word}td.out{word-break:break-all;max-width:300px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px;white-space:nowrap}
.empty{padding:20px;background:#fff;border:1px dashed #d0d7de;border-radius:6px;color:#57606a}
${CHART_CSS}`;

function badge(status: RunStatus | JobRunState): string {
  const color = escapeHtml(STATUS_COLORS[status] ?? '#6e7781');
  return `<span class="badge" style="background:${color}">${escapeHtml(String(status).replace('_', ' '))}</span>`;
}

function link(location: string | undefined, linkFor: (l: string) => string | undefined, text = location): string {
  if (!location) return '';
  const href = linkFor(location);
  const safe = href !== undefined && /^(https?|file):/i.test(href);
  return safe ? `<a href="${escapeHtml(href)}">${escapeHtml(text)}</a>` : escapeHtml(text);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function summary(rows: RunRow[]): string {
  return [...byNotebook(rows)]
    .map(([nb, rs]) => {
      const ok = rs.filter((r) => r.status === 'succeeded').length;
      const last = rs.reduce((a, b) => (Date.parse(b.when) > Date.parse(a.when) ? b : a));
      return (
        `<div class="card"><b>${escapeHtml(nb)}</b><small>${rs.length} run${rs.length === 1 ? '' : 's'} · ` +
        `${ok}/${rs.length} succeeded · ` +
        `median ${escapeHtml(formatDuration(median(rs.map((r) => r.durationMs))))}</small>` +
        `<div>last: ${badge(last.status)} <small>${escapeHtml(formatWhen(last.when))}</small></div></div>`
      );
    })
    .join('');
}

function table(rows: RunRow[], linkFor: (l: string) => string | undefined): string {
  const body = rows
    .map(
      (r) =>
        `<tr class="run ${escapeHtml(r.status)}" data-run-id="${escapeHtml(r.runId ?? '')}">` +
        `<td class="when">${escapeHtml(formatWhen(r.when))}</td><td>${escapeHtml(r.notebook)}</td>` +
        `<td>${badge(r.status)}</td><td class="num">${escapeHtml(formatDuration(r.durationMs))}</td>` +
        `<td class="num">${r.failingCell === undefined ? '' : escapeHtml(r.failingCell)}</td>` +
        `<td class="err">${escapeHtml(r.failure ?? '')}</td>` +
        `<td class="out">${link(r.output, linkFor)}${r.html ? ` (${link(r.html, linkFor, 'html')})` : ''}</td></tr>`,
    )
    .join('\n');
  return (
    '<table id="runs"><thead><tr><th>When (UTC)</th><th>Notebook</th><th>Status</th><th>Duration</th>' +
    '<th>Failing cell</th>' +
    `<th>Error</th><th>Output</th></tr></thead>\n<tbody>\n${body}\n</tbody></table>`
  );
}

/** Renders the page for runs (any order; shown newest first in the table). */
export function renderHistoryHtml(runs: HistoryRun[], opts: HistoryPageOptions = {}): string {
  const rows = runs.map((r) => toRow(r)).sort((a, b) => Date.parse(b.when) - Date.parse(a.when));
  const title = opts.title ?? 'nbtrigger runs';
  const linkFor = opts.linkFor ?? defaultLink;
  const when = formatWhen((opts.generatedAt ?? new Date()).toISOString());
  const legend = (Object.keys(STATUS_COLORS) as RunStatus[])
    .map(
      (s) =>
        `<span><i class="dot" style="background:${STATUS_COLORS[s]}"></i>${escapeHtml(s.replace('_', ' '))}</span>`,
    )
    .join('');
  const filter = opts.filterText ? ` · ${escapeHtml(opts.filterText)}` : '';
  const content =
    rows.length === 0
      ? '<p class="empty">No runs match.</p>'
      : `<h2>Notebooks</h2><div class="cards">${summary(rows)}</div>
<h2>Durations and outcomes over time</h2><p class="legend">${legend}</p>
${renderCharts(rows)}
<h2>Runs (newest first)</h2>
${table(rows, linkFor)}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="nbtrigger"><title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><main><h1>${escapeHtml(title)}</h1>
<p class="sub">${rows.length} run${rows.length === 1 ? '' : 's'}${filter} · generated ${escapeHtml(when)}</p>
${content}
</main></body></html>
`;
}
