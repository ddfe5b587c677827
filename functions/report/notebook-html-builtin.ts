/**
 * A small, self-contained HTML rendering of an executed notebook, used when the Jupyter server has no
 * nbconvert (Kernel Gateway, a minimal image). Pure; every text escaped. Markdown is shown as source
 * (no Markdown library); images are inline `data:` URLs; SVG goes through `<img>` (its scripts never
 * run); `text/html` outputs are shown in a sandboxed iframe with scripts disabled.
 *
 * Spec: docs/function.md / `--html`.
 * @module
 */
import { escapeHtml, joinText, stripAnsi } from './escape.js';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.3rem}.cell{margin:.8rem 0}.prompt{color:#888;font:12px monospace}
pre{margin:0;padding:.5rem;white-space:pre-wrap;word-break:break-word;font:13px/1.4 ui-monospace,monospace}
.src pre{background:#f5f5f7;border:1px solid #e2e2e6;border-radius:4px}.md pre{font-family:inherit;background:none}
.out{border-left:3px solid #d0d7de;margin-top:.25rem}.err pre{background:#fdecec;color:#8a1111}
.stderr pre{background:#fff6e5}img{max-width:100%}iframe{width:100%;border:0;min-height:4rem}
.meta{color:#666;font-size:12px}`;

function output(o: Json): string {
  const type = o.output_type;
  if (type === 'stream') {
    const cls = o.name === 'stderr' ? 'out stderr' : 'out';
    return `<div class="${cls}"><pre>${escapeHtml(joinText(o.text))}</pre></div>`;
  }
  if (type === 'error') {
    const tb = Array.isArray(o.traceback)
      ? o.traceback.map((l) => stripAnsi(String(l))).join('\n')
      : `${String(o.ename)}: ${String(o.evalue)}`;
    return `<div class="out err"><pre>${escapeHtml(tb)}</pre></div>`;
  }
  if (type === 'execute_result' || type === 'display_data')
    return `<div class="out">${mimeBundle(isObj(o.data) ? o.data : {})}</div>`;
  return '';
}

/** Picks the richest representation it can show safely. */
function mimeBundle(data: Json): string {
  for (const mime of ['image/png', 'image/jpeg', 'image/gif']) {
    const v = data[mime];
    if (v !== undefined) {
      const base64 = escapeHtml(joinText(v).replace(/\s+/g, ''));
      return `<img alt="${escapeHtml(mime)} output" src="data:${mime};base64,${base64}">`;
    }
  }
  const svg = data['image/svg+xml'];
  if (svg !== undefined) {
    const base64 = Buffer.from(joinText(svg), 'utf8').toString('base64');
    return `<img alt="SVG output" src="data:image/svg+xml;base64,${base64}">`;
  }
  const html = data['text/html'];
  if (html !== undefined)
    return `<iframe sandbox="" referrerpolicy="no-referrer" srcdoc="${escapeHtml(joinText(html))}"></iframe>`;
  const text = data['text/plain'];
  if (text !== undefined) return `<pre>${escapeHtml(joinText(text))}</pre>`;
  const json = data['application/json'];
  if (json !== undefined) return `<pre>${escapeHtml(JSON.stringify(json, null, 2))}</pre>`;
  return `<pre>${escapeHtml(`<${Object.keys(data).join(', ')}>`)}</pre>`;
}

function cell(c: unknown): string {
  if (!isObj(c)) return '';
  const source = escapeHtml(joinText(c.source));
  if (c.cell_type === 'markdown') return `<div class="cell md"><pre>${source}</pre></div>`;
  if (c.cell_type === 'raw') return `<div class="cell raw"><pre>${source}</pre></div>`;
  const count = typeof c.execution_count === 'number' ? String(c.execution_count) : ' ';
  const outs = Array.isArray(c.outputs) ? c.outputs.filter(isObj).map(output).join('') : '';
  const prompt = `<div class="prompt">In [${escapeHtml(count)}]:</div>`;
  return `<div class="cell code">${prompt}<div class="src"><pre>${source}</pre></div>${outs}</div>`;
}

/** Renders a notebook (parsed nbformat 4 JSON) as one self-contained HTML page. */
export function renderNotebookHtmlBuiltin(notebook: unknown, title = 'notebook'): string {
  const nb = isObj(notebook) ? notebook : {};
  const cells = Array.isArray(nb.cells) ? nb.cells : [];
  const meta = isObj(nb.metadata) && isObj(nb.metadata.nbtrigger) ? nb.metadata.nbtrigger : undefined;
  const facts = meta
    ? `<p class="meta">${['runId', 'status']
        .filter((k) => meta[k] !== undefined)
        .map((k) => `${escapeHtml(k)}: ${escapeHtml(meta[k])}`)
        .join(' · ')}</p>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body><h1>${escapeHtml(title)}</h1>${facts}
${cells.map(cell).join('\n')}
</body></html>
`;
}
