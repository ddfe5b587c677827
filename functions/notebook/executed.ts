/**
 * The executed notebook: the input notebook with each run cell's outputs and execution count,
 * per-cell `metadata.papermill` timing and status, and the run's facts in notebook metadata, as
 * valid nbformat 4.5. A failed run still yields a notebook: the failing cell keeps its error
 * output, later cells stay untouched (cleared, `pending`), and papermill's two error-marker
 * markdown cells point a reader to the failure. Pure.
 *
 * Papermill's format, followed here: every cell gets `metadata.papermill = {exception, start_time,
 * end_time, duration, status}` with status `completed` | `failed` | `pending` (`running` never
 * survives a finished run), times as naive UTC ISO (`2024-01-05T10:11:12.345000`), durations in
 * seconds; cells not reached stay `pending`; code outputs and counts of cells not run are cleared.
 *
 * Spec: docs/function.md; https://nbformat.readthedocs.io/en/latest/format_description.html ;
 * https://github.com/nteract/papermill/blob/main/papermill/engines.py (NotebookExecutionManager) and
 * papermill/execute.py (error markers, written by error-markers.ts).
 * @module
 */
import type { ICell, IOutput, MultilineString } from '@jupyterlab/nbformat';
import type { CellRun } from '../jupyter/executor.js';
import type { RunStatus } from '../run/record.js';
import { ERROR_MARKER_TAG, insertErrorMarkers } from './error-markers.js';
import { cellTags, type Notebook } from './model.js';
import { copyOutput } from './stream-text.js';
import { toPlainJson, type Parameters, type ParamValue } from './translators/values.js';
import { randomCellId } from './upgrade.js';

/** Where a cell's outputs come from: the run's `OutputStore` fits. */
export interface OutputSource {
  outputs(cell: number): IOutput[];
  truncated?(cell: number): boolean;
}

/** Run facts recorded in `metadata.nbtrigger` (and papermill's notebook-level fields). */
export interface ExecutedFacts {
  runId: string;
  /** Input notebook path. */
  notebook: string;
  /** Where the executed notebook is written, when known. */
  output?: string | null;
  parameters?: Readonly<Parameters>;
  /** Server base URL; credentials, query and fragment are stripped here as well. */
  server: string | null;
  kernelName: string | null;
  /** `language_info` from the kernel's `kernel_info_reply`. */
  languageInfo?: Record<string, unknown>;
  /**
   * `metadata.widgets` from the run (widgets.ts): when given, it replaces the input's (stale) widget
   * state, as nbclient does; when the run opened no widget model the input's stays.
   */
  widgets?: Record<string, unknown>;
  status: RunStatus;
  /** Run start and end, ms since the epoch. */
  startedAt: number;
  endedAt: number;
  /** The run's error, e.g. the run record's `error` (cellIndex: index in the input notebook). */
  error?: { code: string; message: string; cellIndex?: number };
  warnings?: string[];
  messageId?: string;
  /** Cells (input indices) whose output was truncated, besides those `OutputSource.truncated` reports. */
  truncatedCells?: number[];
  version?: string;
}

/** Options of {@link buildExecutedNotebook}. */
export interface BuildOptions {
  /** Add papermill's error-marker markdown cells on a failed run (default true). */
  errorMarkers?: boolean;
  /** Cell id source for cells lacking one (default: 8 random hex digits, as nbformat). */
  newId?: () => string;
}

const ID_RE = /^[a-zA-Z0-9_-]{1,64}$/;
const CELL_KEYS: Record<string, string[]> = {
  code: ['id', 'cell_type', 'metadata', 'execution_count', 'source', 'outputs'],
  markdown: ['id', 'cell_type', 'metadata', 'attachments', 'source'],
  raw: ['id', 'cell_type', 'metadata', 'attachments', 'source'],
};

export { randomCellId };

/**
 * Brings a notebook to nbformat 4.5 in place, as `nbformat.v4.upgrade`: below 4.5 every cell gets
 * a new id and `metadata.orig_nbformat_minor` records the old minor. At 4.5 or later, missing,
 * malformed or duplicate ids are replaced (nbformat's repair); valid ids are kept.
 */
export function upgradeToNbformat45(nb: Notebook, newId: () => string = randomCellId): Notebook {
  const minor = typeof nb.nbformat_minor === 'number' ? nb.nbformat_minor : 0;
  const seen = new Set<string>();
  const fresh = (): string => {
    let id = newId();
    while (seen.has(id)) id = newId();
    return id;
  };
  for (const cell of nb.cells) {
    const id = cell.id;
    if (minor < 5 || typeof id !== 'string' || !ID_RE.test(id) || seen.has(id)) cell.id = fresh();
    seen.add(cell.id as string);
  }
  if (minor < 5) {
    (nb.metadata as Record<string, unknown>).orig_nbformat_minor = minor;
    nb.nbformat_minor = 5;
  }
  return nb;
}

/** Papermill's timestamp: naive UTC `datetime.isoformat()` (microseconds, none when zero). */
export function papermillTime(ms: number): string {
  const iso = new Date(ms).toISOString().slice(0, -1);
  return iso.endsWith('.000') ? iso.slice(0, -4) : `${iso}000`;
}

/** A server URL safe to record: no user, password, query or fragment. Null when it does not parse. */
export function publicServer(server: string | null): string | null {
  if (server === null) return null;
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    return null;
  }
  u.username = '';
  u.password = '';
  u.search = '';
  u.hash = '';
  return u.pathname === '/' ? u.origin : u.href;
}

/** Where the run stopped: the cell that failed, and the first index not completed. */
function stopPoint(cellRuns: readonly CellRun[], facts: ExecutedFacts): { fail?: number; stop: number } {
  if (facts.status === 'succeeded') return { stop: Infinity };
  const failed = cellRuns.find(
    (r) =>
      (r.status === 'error' && !r.allowError) ||
      r.status === 'timed_out' ||
      (r.status === 'aborted' && r.startedAt !== undefined),
  );
  const fail = facts.error?.cellIndex ?? failed?.index;
  if (fail !== undefined) return { fail, stop: fail };
  const open = cellRuns.find(
    (r) => !(r.status === 'ok' || r.status === 'skipped' || (r.status === 'error' && r.allowError)),
  );
  return { stop: open?.index ?? (cellRuns.length === 0 ? 0 : Infinity) };
}

/**
 * Builds the executed notebook (a new object; `nb` is not changed).
 * @param nb the notebook as sent to the kernel (after parameter injection).
 * @param cellRuns the executor's cell runs; `index` is the cell's index in `nb.cells`.
 * @param outputs the run's outputs per cell index (an `OutputStore`).
 */
export function buildExecutedNotebook(
  nb: Notebook,
  cellRuns: readonly CellRun[],
  outputs: OutputSource,
  facts: ExecutedFacts,
  options: BuildOptions = {},
): Notebook {
  const newId = options.newId ?? randomCellId;
  const src = upgradeToNbformat45(structuredClone(nb), newId);
  const runs = new Map(cellRuns.map((r) => [r.index, r]));
  const { fail, stop } = stopPoint(cellRuns, facts);
  const truncated = new Set(facts.truncatedCells ?? []);
  const cells: ICell[] = [];
  let anchorAt: number | undefined;
  src.cells.forEach((input, i) => {
    if (cellTags(input).includes(ERROR_MARKER_TAG)) return;
    const cell = pick(input);
    const run = runs.get(i);
    const started = run?.startedAt;
    const ended = run?.endedAt;
    let status: 'completed' | 'failed' | 'pending';
    if (i === fail || (run && ((run.status === 'error' && !run.allowError) || run.status === 'timed_out')))
      status = 'failed';
    else if (run && (run.status === 'ok' || run.status === 'error')) status = 'completed';
    else status = i < stop ? 'completed' : 'pending';
    const md = { ...(cell.metadata as Record<string, unknown>) };
    md.papermill = {
      exception: status === 'failed' ? true : status === 'completed' ? false : null,
      start_time: started === undefined ? null : papermillTime(started),
      end_time: started === undefined || ended === undefined ? null : papermillTime(ended),
      duration: started === undefined || ended === undefined ? null : (ended - started) / 1000,
      status,
    };
    if (cell.cell_type === 'code') {
      const ran = run !== undefined && run.status !== 'skipped' && (run.status !== 'aborted' || started !== undefined);
      // Shallow copies: output text is immutable and can be large (up to the cap), never copied here.
      cell.outputs = ran ? outputs.outputs(i).map(copyOutput) : [];
      cell.execution_count = ran ? run.executionCount : null;
      if (ran && (truncated.has(i) || outputs.truncated?.(i) === true)) {
        md.nbtrigger = { ...(isRecord(md.nbtrigger) ? md.nbtrigger : {}), outputTruncated: true };
      }
    }
    cell.metadata = md as ICell['metadata'];
    if (i === fail) anchorAt = cells.length;
    cells.push(cell);
  });
  const failedCell = anchorAt === undefined ? undefined : cells[anchorAt];
  if (options.errorMarkers !== false && failedCell !== undefined && anchorAt !== undefined) {
    insertErrorMarkers(cells, anchorAt, facts.error, newId);
  }
  return {
    metadata: notebookMetadata(src, cells, failedCell, facts),
    nbformat: 4,
    nbformat_minor: src.nbformat_minor,
    cells,
  };
}

function notebookMetadata(
  src: Notebook,
  cells: ICell[],
  failedCell: ICell | undefined,
  facts: ExecutedFacts,
): Notebook['metadata'] {
  const md: Record<string, unknown> = { ...(src.metadata as Record<string, unknown>) };
  const language = typeof facts.languageInfo?.name === 'string' ? facts.languageInfo.name : undefined;
  if (!isRecord(md.kernelspec) && facts.kernelName) {
    md.kernelspec = { name: facts.kernelName, display_name: facts.kernelName, ...(language ? { language } : {}) };
  }
  if (facts.languageInfo) md.language_info = structuredClone(facts.languageInfo);
  if (facts.widgets) md.widgets = facts.widgets;
  const pm = isRecord(md.papermill) ? md.papermill : {};
  const params = facts.parameters === undefined ? (pm.parameters ?? {}) : toPlainJson(facts.parameters as ParamValue);
  const anyFailed = cells.some((c) => isRecord(c.metadata.papermill) && c.metadata.papermill.status === 'failed');
  md.papermill = {
    ...pm,
    default_parameters: pm.default_parameters ?? {},
    parameters: params,
    environment_variables: pm.environment_variables ?? {},
    input_path: facts.notebook,
    output_path: facts.output ?? null,
    start_time: papermillTime(facts.startedAt),
    end_time: papermillTime(facts.endedAt),
    duration: (facts.endedAt - facts.startedAt) / 1000,
    exception: anyFailed ? true : null,
  };
  const error = facts.error && {
    code: facts.error.code,
    message: facts.error.message,
    ...(facts.error.cellIndex === undefined ? {} : { cellIndex: facts.error.cellIndex }),
    ...(failedCell ? { cellId: failedCell.id } : {}),
    ...(failedCell?.cell_type === 'code' ? { executionCount: failedCell.execution_count ?? null } : {}),
  };
  const truncatedIds = cells
    .filter((c) => isRecord(c.metadata.nbtrigger) && c.metadata.nbtrigger.outputTruncated === true)
    .map((c) => c.id);
  md.nbtrigger = {
    ...(facts.version ? { version: facts.version } : {}),
    runId: facts.runId,
    ...(facts.messageId ? { messageId: facts.messageId } : {}),
    notebook: facts.notebook,
    output: facts.output ?? null,
    parameters: params,
    server: publicServer(facts.server),
    kernel: { name: facts.kernelName, language: language ?? null },
    status: facts.status,
    startedAt: new Date(facts.startedAt).toISOString(),
    endedAt: new Date(facts.endedAt).toISOString(),
    durationMs: facts.endedAt - facts.startedAt,
    ...(error ? { error } : {}),
    warnings: [...(facts.warnings ?? [])],
    ...(truncatedIds.length > 0 ? { truncatedCellIds: truncatedIds } : {}),
  };
  return md as Notebook['metadata'];
}

/** A copy of a cell with only the keys nbformat 4.5 allows for its type. */
function pick(cell: ICell): ICell {
  const out: Record<string, unknown> = {};
  for (const k of CELL_KEYS[cell.cell_type] ?? CELL_KEYS.raw!) {
    if (k in cell) out[k] = (cell as unknown as Record<string, unknown>)[k];
  }
  if (!isRecord(out.metadata)) out.metadata = {};
  if (typeof out.source !== 'string' && !Array.isArray(out.source)) out.source = '' satisfies MultilineString;
  return out as unknown as ICell;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
