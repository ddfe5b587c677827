/**
 * The benchmark notebooks: N trivial code cells (`x = i` then `x * 2`, so every cell has an
 * execute_result), written as nbformat 4 files into the bench's temporary server root.
 * The last result of a notebook of N cells is `2 * (N - 1)`, which the runs check so a
 * broken run is never timed as a fast one.
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface BenchNotebook {
  /** Number of code cells. */
  cells: number;
  /** Absolute path of the file (for jupyter-execute). */
  file: string;
  /** Path on the bench's Jupyter server (its root is the file's folder). */
  serverPath: string;
  /** `1 cell`, `100 cells`: used in metric names. */
  label: string;
  /** The `text/plain` of the last execute_result. */
  expectedLast: string;
  /** The cells' sources (for measuring the physical limit). */
  sources: string[];
}

/** Writes a notebook of `cells` trivial code cells into `dir`. */
export async function writeTrivialNotebook(dir: string, cells: number): Promise<BenchNotebook> {
  const sources = Array.from({ length: cells }, (_, i) => `x = ${i}\nx * 2`);
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      language_info: { name: 'python' },
    },
    cells: sources.map((source, i) => ({
      cell_type: 'code',
      id: `c${i}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      source,
    })),
  };
  const name = `trivial-${cells}.ipynb`;
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(nb, null, 1));
  return {
    cells,
    file,
    serverPath: `/${name}`,
    label: cells === 1 ? '1 cell' : `${cells} cells`,
    expectedLast: String(2 * (cells - 1)),
    sources,
  };
}

/** Writes a notebook of one cell printing `mb` chunks of 1 MB, each flushed (one stream message each). */
export function writeBigOutputNotebook(dir: string, mb: number): Promise<BenchNotebook> {
  const source = [
    'import sys',
    `for i in range(${mb}):`,
    "    sys.stdout.write('x' * (2**20 - 1) + '\\n')",
    '    sys.stdout.flush()',
    `${mb}`,
  ].join('\n');
  return writeOneCell(dir, `output-${mb}mb.ipynb`, source, `${mb} MB-output cell`, String(mb));
}

/** Writes a notebook of one cell printing `mb` MB in a single `print` (one write, one flush). */
export function writeSinglePrintNotebook(dir: string, mb: number): Promise<BenchNotebook> {
  return writeOneCell(
    dir,
    `print-${mb}mb.ipynb`,
    `print('x' * (${mb} * 2**20 - 1))\n${mb}`,
    `${mb} MB-print cell`,
    String(mb),
  );
}

/** A one-cell Python notebook `name` in `dir`, whose last result is `expectedLast`. */
async function writeOneCell(
  dir: string,
  name: string,
  source: string,
  label: string,
  expectedLast: string,
): Promise<BenchNotebook> {
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      language_info: { name: 'python' },
    },
    cells: [{ cell_type: 'code', id: 'only', metadata: {}, execution_count: null, outputs: [], source }],
  };
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(nb));
  return { cells: 1, file, serverPath: `/${name}`, label, expectedLast, sources: [source] };
}
