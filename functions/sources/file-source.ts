/**
 * A notebook in a local file (`file:///abs/nb.ipynb`; the command line's `./`, `../`, `~/` paths):
 * read in chunks up to the cap; the version is the sha256 of its bytes.
 * @module
 */
import { open } from 'node:fs/promises';
import { NbtError } from '../errors.js';
import { abortError, collectBounded, type NotebookSource, type SourceRead, utf8Text } from './reader.js';

/** A local file as a notebook source. */
export function fileSource(path: string, url: string): NotebookSource {
  return {
    url,
    async read(signal: AbortSignal, maxBytes: number): Promise<SourceRead> {
      if (signal.aborted) throw abortError(signal, url);
      const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
          throw new NbtError('NOTEBOOK_NOT_FOUND', `notebook "${url}" does not exist`, {
            details: { field: 'notebook' },
          });
        }
        throw new NbtError('REQUEST_REJECTED', `notebook "${url}" cannot be opened: ${e.code ?? e.message}`, {
          details: { field: 'notebook' },
        });
      });
      try {
        const s = await fh.stat();
        if (s.isDirectory()) throw new NbtError('NOTEBOOK_NOT_FOUND', `"${url}" is a directory, not a notebook`);
        // The stream stops at the first chunk past the cap: a file may grow after its size was read.
        const stream = fh.createReadStream({ highWaterMark: 1 << 20, signal, autoClose: false });
        const { bytes, sha256 } = await collectBounded(stream, maxBytes, url).catch((e: unknown) => {
          throw signal.aborted ? abortError(signal, url) : e;
        });
        return { text: utf8Text(bytes, url), url, version: sha256 };
      } finally {
        await fh.close();
      }
    },
  };
}
