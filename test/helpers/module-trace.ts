/**
 * `node --import <this file's URL>`: records every module the process resolves (ESM imports, and
 * CommonJS modules reached through them or through `require` from ESM) into `NBTRIGGER_MODULE_TRACE`.
 * CommonJS `require` inside a CommonJS package bypasses the hooks, so a test asserts on the entry
 * points of packages (what an ESM import reaches first), which is what a lazy import moves.
 * @module
 */
import { register } from 'node:module';
import Module from 'node:module';
import { appendFileSync } from 'node:fs';

register('./module-trace-hooks.js', import.meta.url);

// CommonJS loads (google-gax and the client packages are CommonJS) go through Module._load: record them too.
const file = process.env.NBTRIGGER_MODULE_TRACE;
const mod = Module as unknown as {
  _load(request: string, parent: { filename?: string } | undefined, isMain: boolean): unknown;
};
const load = mod._load;
mod._load = function traced(request, parent, isMain) {
  if (file) appendFileSync(file, `require ${request}\n`);
  return load.call(this, request, parent, isMain);
};

/** The `--import` argument that loads this tracer. */
export const MODULE_TRACE_IMPORT = import.meta.url;
