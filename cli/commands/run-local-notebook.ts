/**
 * The notebook file `nbtrigger run` reads without `--server`: checked (an existing .ipynb file
 * within the notebook size cap) before a local server is started for it, then read in bounded
 * chunks. The cap is the function's (NBTRIGGER_MAX_NOTEBOOK_BYTES, functions/config.ts).
 *
 * Spec: docs/running.md (options, exit codes).
 * @module
 */
import { open, stat } from 'node:fs/promises';
import { NbtError } from '../../functions/errors.js';

/** Rejects a path that is not a local .ipynb file within `maxBytes`, before a server is started for it. */
export async function checkLocalNotebook(file: string, maxBytes: number): Promise<void> {
  if (!file.toLowerCase().endsWith('.ipynb')) throw new NbtError('BAD_NOTEBOOK', `"${file}" does not end in .ipynb`);
  const s = await stat(file).catch(() => undefined);
  if (!s) throw new NbtError('NOTEBOOK_NOT_FOUND', `notebook "${file}" does not exist`);
  if (s.isDirectory()) throw new NbtError('NOTEBOOK_NOT_FOUND', `"${file}" is a directory, not a notebook`);
  if (s.size > maxBytes) throw tooBig(file, maxBytes);
}

/**
 * Reads a local notebook, never more than `maxBytes` + 1 MiB of it (a file may grow after its size was
 * checked).
 */
export async function readLocalNotebook(file: string, maxBytes: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let n = 0;
    for (;;) {
      const b = Buffer.allocUnsafe(1 << 20);
      const { bytesRead } = await fh.read(b, 0, b.length, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > maxBytes) throw tooBig(file, maxBytes);
      chunks.push(b.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, n).toString('utf8');
  } finally {
    await fh.close();
  }
}

function tooBig(file: string, maxBytes: number): NbtError {
  return new NbtError(
    'BAD_NOTEBOOK',
    `notebook "${file}" is larger than the cap of ${maxBytes} bytes (NBTRIGGER_MAX_NOTEBOOK_BYTES)`,
    { details: { field: 'notebook', maxBytes } },
  );
}
