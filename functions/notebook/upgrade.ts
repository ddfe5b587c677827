/**
 * nbformat 2 and 3 notebooks upgraded to nbformat 4.5 in memory, step by step as nbformat's own
 * converters do in `nbformat.reads(text, as_version=4)` (what nbclient, `jupyter execute` and
 * papermill run): v2 → v3 (`v3/convert.py`), then v3 → v4 (`v4/convert.py`), after the version's
 * reader has rejoined lines stored as lists (`rwbase.py`).
 * Worksheets are flattened, `input` becomes `source`, `prompt_number` becomes `execution_count`,
 * `collapsed` moves into the metadata, heading cells become markdown `#` lines, outputs are
 * renamed (`pyout` → `execute_result`, `pyerr` → `error`, `stream` → `name`, v3 mime aliases →
 * mime types in `data`), every cell gets a new id, and `metadata.orig_nbformat` records the origin.
 * Pure: no I/O.
 *
 * Where nbformat would refuse the file only over a bookkeeping field (a v3 notebook without
 * `nbformat_minor` or `metadata`), it is upgraded here all the same.
 *
 * Spec: https://nbformat.readthedocs.io/en/latest/format_description.html ;
 * https://github.com/jupyter/nbformat/blob/main/nbformat/v4/convert.py and nbformat/v3/convert.py .
 * @module
 */
import { NbtError } from '../errors.js';

type Json = Record<string, unknown>;

/** A new cell id: 8 random hex digits, like nbformat's `random_cell_id`. */
export function randomCellId(): string {
  return globalThis.crypto.randomUUID().replace(/-/g, '').slice(0, 8);
}

/** v3 output keys that alias mime types, in nbformat's order (`_mime_map`). */
const MIME_ALIASES: ReadonlyArray<[string, string]> = [
  ['text', 'text/plain'],
  ['html', 'text/html'],
  ['svg', 'image/svg+xml'],
  ['png', 'image/png'],
  ['jpeg', 'image/jpeg'],
  ['latex', 'text/latex'],
  ['json', 'application/json'],
  ['javascript', 'application/javascript'],
];
/** Output keys that readers rejoin when stored as a list of lines. */
const MULTILINE_OUTPUT_KEYS = ['text', 'html', 'svg', 'latex', 'javascript', 'json'];

/**
 * Upgrades a parsed nbformat 2 or 3 notebook (a fresh object from JSON.parse: changed in place)
 * to nbformat 4.5. Throws BAD_NOTEBOOK naming the field when its structure cannot be read.
 * @param label the path shown in error messages.
 */
export function upgradeNotebook(nb: Json, label: string, newId: () => string = randomCellId): Json {
  const major = nb.nbformat;
  if (major !== 2 && major !== 3) throw bad(label, `is nbformat ${JSON.stringify(major)}, not 2 or 3`, 'nbformat');
  const worksheets = worksheetsOf(nb, label);
  if (major === 2) {
    rejoinLines(worksheets, (lines) => lines.join('\n'));
    // v2 → v3: only the version fields and the cells' metadata change.
    nb.nbformat = 3;
    nb.nbformat_minor = 0;
    nb.orig_nbformat = 2;
    for (const ws of worksheets) for (const cell of ws.cells) if (!('metadata' in cell)) cell.metadata = {};
  } else {
    rejoinLines(worksheets, joinLines);
  }
  return upgradeV3(nb, worksheets, label, newId);
}

/** v3 → v4 (`nbformat.v4.convert.upgrade`). */
function upgradeV3(nb: Json, worksheets: Worksheet[], label: string, newId: () => string): Json {
  const origMajor = nb.orig_nbformat;
  const origMinor = nb.orig_nbformat_minor;
  delete nb.orig_nbformat;
  delete nb.orig_nbformat_minor;
  const metadata = isObject(nb.metadata) ? nb.metadata : {};
  metadata.orig_nbformat = truthy(origMajor) ? origMajor : 3;
  metadata.orig_nbformat_minor = truthy(origMinor) ? origMinor : 0;
  delete metadata.name;
  delete metadata.signature;
  const cells: Json[] = [];
  for (const [w, ws] of worksheets.entries()) {
    for (const [i, cell] of ws.cells.entries())
      cells.push(upgradeCell(cell, label, `worksheets[${w}].cells[${i}]`, newId));
  }
  delete nb.worksheets;
  nb.metadata = metadata;
  nb.nbformat = 4;
  nb.nbformat_minor = 5;
  nb.cells = cells;
  return nb;
}

/** One cell, v3 → v4 (`upgrade_cell`). */
function upgradeCell(cell: Json, label: string, field: string, newId: () => string): Json {
  if (!isObject(cell.metadata)) cell.metadata = {};
  cell.id = newId();
  switch (cell.cell_type) {
    case 'code': {
      delete cell.language;
      if ('collapsed' in cell) {
        (cell.metadata as Json).collapsed = cell.collapsed;
        delete cell.collapsed;
      }
      cell.source = 'input' in cell ? cell.input : '';
      delete cell.input;
      cell.execution_count = cell.prompt_number ?? null;
      delete cell.prompt_number;
      const outputs = cell.outputs ?? [];
      if (!Array.isArray(outputs)) throw bad(label, `${field}.outputs is not a list`, `${field}.outputs`);
      cell.outputs = outputs.map((o: unknown, i: number) => upgradeOutput(o, label, `${field}.outputs[${i}]`));
      break;
    }
    case 'heading': {
      const level = typeof cell.level === 'number' ? cell.level : 1;
      delete cell.level;
      const source = typeof cell.source === 'string' ? cell.source : '';
      cell.cell_type = 'markdown';
      cell.source = `${'#'.repeat(level)} ${splitLines(source).join(' ')}`;
      break;
    }
    case 'html':
      cell.cell_type = 'markdown';
      break;
    default:
  }
  return cell;
}

/** One output, v3 → v4 (`upgrade_output`). */
function upgradeOutput(o: unknown, label: string, field: string): unknown {
  if (!isObject(o)) throw bad(label, `${field} is not an object`, field);
  switch (o.output_type) {
    case 'pyout':
    case 'display_data': {
      const metadata = isObject(o.metadata) ? o.metadata : {};
      if (o.output_type === 'pyout') {
        o.output_type = 'execute_result';
        o.execution_count = o.prompt_number ?? null;
        delete o.prompt_number;
      }
      const data: Json = {};
      for (const key of Object.keys(o)) {
        if (key === 'output_type' || key === 'execution_count' || key === 'metadata') continue;
        data[key] = o[key];
        delete o[key];
      }
      toMimeKeys(data);
      toMimeKeys(metadata);
      if (typeof data['application/json'] === 'string') {
        try {
          data['application/json'] = JSON.parse(data['application/json']);
        } catch {
          throw bad(label, `${field} "json" is not JSON`, `${field}.json`);
        }
      }
      o.metadata = metadata;
      o.data = data;
      return o;
    }
    case 'pyerr':
      o.output_type = 'error';
      return o;
    case 'stream':
      o.name = o.stream ?? 'stdout';
      delete o.stream;
      return o;
    default:
      return o;
  }
}

interface Worksheet {
  cells: Json[];
}

function worksheetsOf(nb: Json, label: string): Worksheet[] {
  if (!Array.isArray(nb.worksheets)) {
    throw bad(label, `(nbformat ${String(nb.nbformat)}) has no "worksheets" list`, 'worksheets');
  }
  return nb.worksheets.map((ws: unknown, w: number) => {
    const at = `worksheets[${w}]`;
    if (!isObject(ws) || !Array.isArray(ws.cells)) throw bad(label, `${at} has no "cells" list`, `${at}.cells`);
    ws.cells.forEach((c: unknown, i: number) => {
      if (!isObject(c)) throw bad(label, `${at}.cells[${i}] is not an object`, `${at}.cells[${i}]`);
    });
    return ws as unknown as Worksheet;
  });
}

/** Multiline text stored as a list of lines becomes one string (the readers' `rejoin_lines`). */
function rejoinLines(worksheets: Worksheet[], join: (lines: string[]) => string): void {
  const rejoin = (o: Json, key: string): void => {
    const v = o[key];
    if (Array.isArray(v)) o[key] = join(v.map(String));
  };
  for (const ws of worksheets) {
    for (const cell of ws.cells) {
      if (cell.cell_type === 'code') {
        rejoin(cell, 'input');
        for (const out of Array.isArray(cell.outputs) ? cell.outputs : []) {
          if (isObject(out)) for (const key of MULTILINE_OUTPUT_KEYS) rejoin(out, key);
        }
      } else {
        rejoin(cell, 'source');
        rejoin(cell, 'rendered');
      }
    }
  }
}

/** v3's `_join_lines`: lines written with their line ends are concatenated, others joined by `\n`. */
function joinLines(lines: string[]): string {
  return lines.length > 0 && /[\n\r]$/.test(lines[0]!) ? lines.join('') : lines.join('\n');
}

/** Renames v3 aliases (`png`) to mime types (`image/png`), as `to_mime_key`. */
function toMimeKeys(d: Json): void {
  for (const [alias, mime] of MIME_ALIASES) {
    if (alias in d) {
      const v = d[alias];
      delete d[alias];
      d[mime] = v;
    }
  }
}

/** Python's `str.splitlines()`: no trailing empty line. */
function splitLines(s: string): string[] {
  const lines = s.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Python truthiness for the fields nbformat tests with `or`. */
function truthy(v: unknown): boolean {
  return v !== undefined && v !== null && v !== 0 && v !== '' && v !== false;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(label: string, why: string, field: string): NbtError {
  return new NbtError('BAD_NOTEBOOK', `notebook "${label}" ${why}`, { details: { field } });
}
