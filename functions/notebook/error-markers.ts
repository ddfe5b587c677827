/**
 * Papermill's two error-marker markdown cells in an executed notebook of a failed run: a notice at
 * the top, linking to an anchor cell inserted just before the failing cell, so a reader finds the
 * failure. Pure. Markers carry {@link ERROR_MARKER_TAG}, by which executed.ts drops those of an earlier run.
 *
 * Spec: https://github.com/nteract/papermill/blob/main/papermill/execute.py (error markers).
 * @module
 */
import type { ICell } from '@jupyterlab/nbformat';

/** Tag of papermill's error-marker cells; markers from an earlier run are dropped. */
export const ERROR_MARKER_TAG = 'papermill-error-cell-tag';

const ERROR_STYLE = 'style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;"';
const ANCHOR = 'id="papermill-error-cell"';

/**
 * Inserts the two markers into `cells` in place: the anchor before `cells[anchorAt]` (the failing
 * cell), the notice first. Their ids come from `newId`, never repeating an id of `cells`.
 */
export function insertErrorMarkers(
  cells: ICell[],
  anchorAt: number,
  error: { code: string; message: string } | undefined,
  newId: () => string,
): void {
  const failedCell = cells[anchorAt]!;
  const count =
    failedCell.cell_type === 'code' && failedCell.execution_count != null ? String(failedCell.execution_count) : ' ';
  const ids = new Set(cells.map((c) => c.id));
  const id = (): string => {
    let v = newId();
    while (ids.has(v)) v = newId();
    ids.add(v);
    return v;
  };
  const [top, anchor] = markerTexts(error, count);
  cells.splice(anchorAt, 0, marker(id(), anchor));
  cells.unshift(marker(id(), top));
}

/** Papermill's marker texts: a notice at the top linking to an anchor just before the failing cell. */
function markerTexts(error: { code: string; message: string } | undefined, count: string): [string, string] {
  const link = `<a href="#papermill-error-cell">In [${count}]</a>`;
  if (error === undefined || error.code === 'CELL_ERROR') {
    return [
      `<span ${ERROR_STYLE}>An Exception was encountered at '${link}'.</span>`,
      `<span ${ANCHOR} ${ERROR_STYLE}>Execution using nbtrigger encountered an exception here and stopped:</span>`,
    ];
  }
  return [
    `<span ${ERROR_STYLE}>Execution stopped (${escapeHtml(error.code)}) at '${link}'.</span>`,
    `<span ${ANCHOR} ${ERROR_STYLE}>Execution using nbtrigger stopped here: ${escapeHtml(error.message)}</span>`,
  ];
}

function marker(id: string, source: string): ICell {
  return { id, cell_type: 'markdown', metadata: { tags: [ERROR_MARKER_TAG] }, source };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
