/**
 * HTML rendering of an executed notebook for `--html`.
 *
 * Approach: the Jupyter server that ran the notebook converts it with its own nbconvert, in one
 * request: `POST /nbconvert/html` with `{"content": <notebook>, "name": …}` (Jupyter Server's
 * `NbconvertPostHandler`). The executed notebook need not be saved on the server first (unlike
 * `GET /nbconvert/html/<path>`), so this works whatever the output sink is; the result is exactly
 * what `jupyter nbconvert --to html` gives (rendered Markdown, ANSI-coloured tracebacks, widgets' static
 * views), and nbtrigger ships no converter. Measured here: ≈0.4 s and ≈0.5 MB for a small notebook.
 * When the server cannot convert (no nbconvert installed: HTTP 500 "Could not import nbconvert";
 * Kernel Gateway: 404; or it is unreachable) the page comes from a small built-in renderer and the
 * result says why, so the run still gets an HTML file.
 *
 * Spec: docs/function.md (`--html`: the server's own nbconvert endpoint, or any better way).
 * @module
 */
import type { Dispatcher } from 'undici';
import { redact } from '../log.js';
import { clipRedacted } from '../redact.js';
import { renderNotebookHtmlBuiltin } from './notebook-html-builtin.js';

/**
 * The server to convert on ({@link JupyterRest} satisfies it): its requests go through the run's
 * REST client, so through its guarded connector; the headers are only read to redact the token.
 */
export interface NbconvertServer {
  readonly headers: Record<string, string>;
  send(
    method: Dispatcher.HttpMethod,
    path: string,
    o: { body?: string; headers?: Record<string, string>; signal?: AbortSignal; timeoutMs?: number },
  ): Promise<{ status: number; contentType: string; text: string }>;
}

export interface NotebookHtmlOptions {
  /** Without a server, the built-in renderer is used. */
  server?: NbconvertServer;
  /** Notebook file name (sets the page title); default `notebook.ipynb`. */
  name?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface NotebookHtml {
  html: string;
  via: 'nbconvert' | 'builtin';
  /** Why nbconvert was not used (for the run record's warnings); never holds a token. */
  warning?: string;
}

/** Renders an executed notebook as HTML. Never rejects. */
export async function renderNotebookHtml(notebook: unknown, opts: NotebookHtmlOptions = {}): Promise<NotebookHtml> {
  const name = opts.name ?? 'notebook.ipynb';
  const title = name.replace(/^.*\//, '').replace(/\.ipynb$/i, '');
  if (!opts.server) return { html: renderNotebookHtmlBuiltin(notebook, title), via: 'builtin' };
  let why: string;
  try {
    const res = await opts.server.send('POST', '/nbconvert/html', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: joinMultiline(notebook), name: name.replace(/^.*\//, '') }),
      ...(opts.signal ? { signal: opts.signal } : {}),
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
    if (res.status === 200 && res.contentType.startsWith('text/html')) return { html: res.text, via: 'nbconvert' };
    why = `HTTP ${res.status}${messageOf(res.text)}`;
  } catch (e) {
    why = (e as Error)?.message ?? String(e);
  }
  const secrets = Object.entries(opts.server.headers)
    .filter(([k]) => k.toLowerCase() === 'authorization')
    .flatMap(([, v]) => [v, v.replace(/^\S+\s+/, '')]);
  return {
    html: renderNotebookHtmlBuiltin(notebook, title),
    via: 'builtin',
    warning: redact(
      `HTML rendered by nbtrigger's built-in renderer: the server's nbconvert was not available ` +
        `(${clipRedacted(why, 200, secrets)})`,
      secrets,
    ),
  };
}

/**
 * The server builds the notebook with `nbformat.from_dict`, which (unlike `nbformat.reads`) does not
 * join multiline strings: sources, stream text and text MIME data stored as lists of lines make
 * nbconvert fail ("expected string … got 'list'"). Join them, as `nbformat.reads` would.
 */
function joinMultiline(notebook: unknown): unknown {
  const join = (v: unknown): unknown => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join('') : v);
  const nb = notebook as { cells?: Array<Record<string, unknown>> };
  if (!Array.isArray(nb?.cells)) return notebook;
  return {
    ...nb,
    cells: nb.cells.map((c) => ({
      ...c,
      source: join(c.source),
      ...(Array.isArray(c.outputs)
        ? {
            outputs: (c.outputs as Array<Record<string, unknown>>).map((o) => ({
              ...o,
              ...(o.text !== undefined ? { text: join(o.text) } : {}),
              ...(o.data && typeof o.data === 'object'
                ? {
                    data: Object.fromEntries(
                      Object.entries(o.data as Record<string, unknown>).map(([k, v]) => [
                        k,
                        k.endsWith('json') ? v : join(v),
                      ]),
                    ),
                  }
                : {}),
            })),
          }
        : {}),
    })),
  };
}

function messageOf(text: string): string {
  try {
    const v = JSON.parse(text) as { message?: unknown };
    if (typeof v.message === 'string' && v.message) return `: ${v.message}`;
  } catch {
    /* not JSON */
  }
  return '';
}
