/**
 * PATCH (memory): `--expose-gc` switched on at run time. Targets the V8 of Node
 * {@link GC_HINT_NODE_MAJORS} (Node 20 here, nodejs22 on Cloud Functions): V8 flags are not a
 * stable interface. On any other Node the hint does nothing (the plain fallback: V8 collects as
 * it would). test/unit/functions/patches/gc-hint.test.ts fails when the running Node is not a
 * target or no longer hands out a collector taking `{ type: 'minor' }`: re-check, then add it.
 *
 * Keeps the garbage of large kernel output bounded. Every frame leaves garbage behind: the socket's
 * read buffers, the frame ws assembles, the decoded JSON, and the text of a cell already past the
 * output cap. V8 collects it only when its young generation fills (up to 2 × 16 MiB) or external
 * memory grows by 64 MiB, so a cell printing 50 MB at 250 MB/s used to hold 30–40 MB of dead frames
 * beside the output it kept. After every {@link GC_EVERY_BYTES} of frames, process-wide, this asks
 * V8 for a young-generation collection (about a millisecond: what survives is little), which frees
 * those buffers and strings at once.
 *
 * The collector is reached as Jest and others do: `--expose-gc` set at run time, then `gc` taken
 * from a fresh context. Where that is refused, the hint does nothing and V8 collects as it would.
 *
 * Spec: docs/function.md (Memory) and docs/benchmarks.md (a 50 MB-output cell
 * within 2× the output cap); https://v8.dev/blog/trash-talk (young generation, large objects).
 * @module
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** The Node major versions whose V8 the run-time flag and the `minor` collection were checked on. */
export const GC_HINT_NODE_MAJORS: readonly number[] = [20, 22];

/** Bytes of frames between two collections. */
export const GC_EVERY_BYTES = 2 * 1024 * 1024;

type GcFn = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let gc: GcFn | null | undefined;
let pending = 0;
let scheduled = false;
let collections = 0;

/** The collector, or null where it is refused or the Node is not a targeted one. */
export function collector(): GcFn | null {
  if (gc !== undefined) return gc;
  if (!GC_HINT_NODE_MAJORS.includes(nodeMajor())) {
    gc = null;
    return gc;
  }
  try {
    const exposed = (globalThis as { gc?: unknown }).gc;
    if (typeof exposed === 'function') gc = exposed as GcFn;
    else {
      setFlagsFromString('--expose-gc');
      const fn = runInNewContext('gc') as unknown;
      gc = typeof fn === 'function' ? (fn as GcFn) : null;
    }
  } catch {
    gc = null;
  }
  return gc;
}

/**
 * Counts `bytes` of data handled (frames received, notebook text serialized); once
 * {@link GC_EVERY_BYTES} have passed since the last collection, runs one (young generation only).
 * Small amounts cost an addition.
 */
export function noteGarbage(bytes: number): void {
  pending += bytes;
  if (pending < GC_EVERY_BYTES || scheduled) return;
  pending = 0;
  scheduled = true;
  // Not here but once the current I/O turn is over: the frame being handled and the socket's
  // buffers are dead by then, so they are freed, not promoted to the old generation as survivors.
  setImmediate(collect);
}

function collect(): void {
  scheduled = false;
  const fn = collector();
  if (!fn) return;
  collections++;
  fn({ type: 'minor' });
}

function nodeMajor(): number {
  return Number(process.versions.node.split('.')[0]);
}

/** How many collections the hint has asked for in this process (for tests and the bench). */
export function gcHintCount(): number {
  return collections;
}
