/**
 * The notebook model: parse and validate nbformat 4 JSON (nbformat 2 and 3 are upgraded to 4
 * first, as nbformat reads them: upgrade.ts) and pick out what the runner executes. Pure. Types
 * come from @jupyterlab/nbformat (`import type` only).
 *
 * Spec: https://nbformat.readthedocs.io/en/latest/format_description.html
 * @module
 */
import type { ICell, INotebookContent, MultilineString } from '@jupyterlab/nbformat';
import { NbtError } from '../errors.js';
import { isObject } from '../jupyter/messages.js';
import { upgradeNotebook } from './upgrade.js';

export type Notebook = INotebookContent;

/** A cell the runner will look at: index in the notebook's own cell list (0-based). */
export interface PlannedCell {
  index: number;
  source: string;
  /** `skip-execution` tag: not sent to the kernel. */
  skip: boolean;
  /** `raises-exception` tag: an error here does not fail the run. */
  allowError: boolean;
}

const CELL_TYPES = new Set(['code', 'markdown', 'raw']);

/** Bounds on a notebook's shape (a notebook past them is refused before anything runs). */
export interface NotebookBounds {
  /** Most cells (default 10,000). */
  maxCells?: number;
  /** Longest source of one cell, in characters (default 4 Mi). */
  maxCellSourceChars?: number;
}

export const DEFAULT_NOTEBOOK_BOUNDS: Required<NotebookBounds> = {
  maxCells: 10_000,
  maxCellSourceChars: 4 * 1024 * 1024,
};

/**
 * Parses notebook JSON text. Throws BAD_NOTEBOOK naming what is wrong: not JSON, not an object,
 * not nbformat 2, 3 or 4 (2 and 3 are upgraded to 4), no `cells` list, a cell without a valid
 * `cell_type` or `source`, more cells or a longer cell source than `bounds` allow (the error names
 * the cap and the setting).
 * @param label the path shown in error messages.
 */
export function parseNotebook(text: string, label: string, bounds: NotebookBounds = {}): Notebook {
  const { maxCells, maxCellSourceChars } = { ...DEFAULT_NOTEBOOK_BOUNDS, ...bounds };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw bad(label, `is not JSON (${(e as Error).message})`, 'file');
  }
  if (!isObject(v)) throw bad(label, 'is not a JSON object', 'file');
  const nb = v.nbformat === 2 || v.nbformat === 3 ? upgradeNotebook(v, label) : v;
  if (nb.nbformat !== 4) {
    throw bad(label, `is not nbformat 4, 3 or 2 (nbformat is ${JSON.stringify(nb.nbformat) ?? 'missing'})`, 'nbformat');
  }
  if (!Array.isArray(nb.cells)) throw bad(label, 'has no "cells" list', 'cells');
  if (nb.cells.length === 0) throw bad(label, 'has no cells', 'cells');
  if (nb.cells.length > maxCells) {
    throw bad(label, `has ${nb.cells.length} cells, more than the cap of ${maxCells} (NBTRIGGER_MAX_CELLS)`, 'cells');
  }
  if (nb.metadata !== undefined && !isObject(nb.metadata)) throw bad(label, '"metadata" is not an object', 'metadata');
  nb.cells.forEach((c: unknown, i: number) => {
    if (!isObject(c)) throw bad(label, `cell ${i} is not an object`, `cells[${i}]`);
    if (typeof c.cell_type !== 'string' || !CELL_TYPES.has(c.cell_type)) {
      throw bad(
        label,
        `cell ${i} has cell_type ${JSON.stringify(c.cell_type)}, expected code, markdown or raw`,
        `cells[${i}].cell_type`,
      );
    }
    if (!isSource(c.source))
      throw bad(label, `cell ${i} "source" is not a string or list of strings`, `cells[${i}].source`);
    const length = typeof c.source === 'string' ? c.source.length : c.source.reduce((n, l) => n + l.length, 0);
    if (length > maxCellSourceChars) {
      const why =
        `cell ${i} source is ${length} characters, more than the cap of ${maxCellSourceChars} ` +
        '(NBTRIGGER_MAX_CELL_SOURCE)';
      throw bad(label, why, `cells[${i}].source`);
    }
    if (c.metadata !== undefined && !isObject(c.metadata))
      throw bad(label, `cell ${i} "metadata" is not an object`, `cells[${i}].metadata`);
  });
  if (nb.metadata === undefined) nb.metadata = {};
  return nb as unknown as Notebook;
}

function isSource(s: unknown): s is MultilineString {
  return typeof s === 'string' || (Array.isArray(s) && s.every((x) => typeof x === 'string'));
}

/** Joins a multiline source the way nbformat does (list items already carry their newlines). */
export function sourceText(s: MultilineString): string {
  return Array.isArray(s) ? s.join('') : s;
}

/** Tags of a cell (`metadata.tags`), tolerant of a missing or malformed list. */
export function cellTags(cell: ICell): string[] {
  const tags = (cell.metadata as Record<string, unknown> | undefined)?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

/** The code cells worth sending: non-empty code cells, in notebook order, with their tag flags. */
export function plannedCells(nb: Notebook): PlannedCell[] {
  const out: PlannedCell[] = [];
  nb.cells.forEach((cell, index) => {
    if (cell.cell_type !== 'code') return;
    const source = sourceText(cell.source);
    if (source.trim() === '') return;
    const tags = cellTags(cell);
    out.push({ index, source, skip: tags.includes('skip-execution'), allowError: tags.includes('raises-exception') });
  });
  return out;
}

/** The kernelspec name the notebook asks for, if it names one. */
export function notebookKernelName(nb: Notebook): string | undefined {
  const ks = (nb.metadata as Record<string, unknown>).kernelspec;
  return isObject(ks) && typeof ks.name === 'string' && ks.name !== '' ? ks.name : undefined;
}

function bad(label: string, why: string, field: string): NbtError {
  return new NbtError('BAD_NOTEBOOK', `notebook "${label}" ${why}`, { details: { field } });
}
