/**
 * The fields of an iopub output message's content, read defensively (a malformed field becomes
 * an empty bundle, empty metadata, no count, no display id), and the measures the per-cell output
 * cap of outputs.ts works with: a cheap size estimate and a text clip that never splits a
 * surrogate pair. Pure.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/stable/messaging.html#display-data and
 * https://nbformat.readthedocs.io/en/latest/format_description.html#code-cell-outputs .
 * @module
 */
import type { IMimeBundle } from '@jupyterlab/nbformat';

/** A message's `data`: a MIME bundle, or empty when it is not an object. */
export function mimeBundle(v: unknown): IMimeBundle {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as IMimeBundle) : {};
}

/** A message's `metadata`, or empty when it is not an object. */
export function outputMetadata(v: unknown): Record<string, never> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, never>) : {};
}

/** An `execute_result`'s `execution_count`, or null when it is not a number. */
export function executionCount(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

/** The `transient.display_id` of a display message, when it has one. */
export function displayId(content: Record<string, unknown>): string | undefined {
  const t = content.transient;
  if (typeof t === 'object' && t !== null && typeof (t as Record<string, unknown>).display_id === 'string') {
    return (t as Record<string, string>).display_id;
  }
  return undefined;
}

/** Cheap size estimate: the length of the strings in a bundle (no serialization on the hot path). */
export function approxSize(out: unknown): number {
  let n = 0;
  const walk = (v: unknown): void => {
    if (typeof v === 'string') n += v.length;
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(walk);
    else n += 8;
  };
  walk(out);
  return n;
}

/** The first `n` UTF-16 units of `s`, never ending in half a surrogate pair. */
export function clipText(s: string, n: number): string {
  if (s.length <= n) return s;
  const code = s.charCodeAt(n - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}
