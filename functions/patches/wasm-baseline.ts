/**
 * PATCH (CPU): WebAssembly in this process runs on V8's baseline compiler (Liftoff) only, never
 * tiered up to its optimizing compiler (TurboFan).
 *
 * undici parses every HTTP response with llhttp compiled to WebAssembly. After a few responses
 * (header bytes are parsed one at a time) V8's dynamic tiering finds the parser's main function
 * hot and recompiles it with TurboFan on a background thread: on a 2-core machine with Node 20
 * that one compile takes ≈170 ms of CPU and ≈40 MB of compiler memory (`--trace-wasm-compilation-times`),
 * a third of the CLI's CPU for a whole run, and on a function instance with one vCPU it is CPU
 * taken from its first run. A run reads a handful of responses, bodies as spans the parser does
 * not walk byte by byte, so the baseline code parses them as fast as the run needs (docs/benchmarks.md).
 * nbtrigger runs no other WebAssembly.
 *
 * Set before undici compiles its parser (its first connection): the entry points (the function,
 * the CLI) call it first, and so does the runner's undici loader, for a program that embeds the
 * runner. The flags are V8's `wasm_tier_up` and `wasm_dynamic_tiering` (v8/src/flags/flag-definitions.h,
 * the same names in Node 20's V8 and the later ones), set through `v8.setFlagsFromString`.
 * test/unit/functions/patches/wasm-baseline.test.ts runs undici with and without it and fails when
 * the tier-up still happens, or when the control no longer shows one (then this patch is moot).
 * @module
 */
import { setFlagsFromString } from 'node:v8';

let set = false;

/** Keeps WebAssembly on the baseline compiler for the rest of the process; idempotent. */
export function baselineWasmOnly(): void {
  if (set) return;
  set = true;
  setFlagsFromString('--no-wasm-dynamic-tiering');
  setFlagsFromString('--no-wasm-tier-up');
}
