/**
 * Checks of single fields of the rich (JSON) form, for the message grammar (grammar.ts): the
 * `timeouts` object, strings that must not be empty, and the kernel's folder on the server.
 * Pure. A bad field is a bad message naming the field.
 *
 * Spec: docs/function.md (the message, rich form).
 * @module
 */
import { NbtError } from '../errors.js';
import type { Quote, Timeouts } from './grammar.js';

/** The `timeouts` object: known keys only, each a number of seconds above 0 and at most a week. */
export function parseTimeouts(v: unknown, quote: Quote): Timeouts {
  if (v === undefined) return {};
  const out: Timeouts = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (k !== 'startSeconds' && k !== 'cellSeconds' && k !== 'runSeconds') {
      const field = `timeouts.${quote(k, 40)}`;
      throw msgError(field, `unknown field "${field}" (known: startSeconds, cellSeconds, runSeconds)`);
    }
    if (typeof val !== 'number' || !Number.isFinite(val) || val <= 0 || val > 7 * 24 * 3600) {
      throw msgError(`timeouts.${k}`, `field "timeouts.${k}" must be a number of seconds > 0 and at most 604800`);
    }
    out[k] = val;
  }
  return out;
}

/** A string field that must hold more than whitespace. */
export function nonEmpty(s: string, field: string): string {
  if (s.trim() === '') throw msgError(field, `field "${field}" must not be empty`);
  return s;
}

/** A folder on the server: relative, no `..`, `.` or empty segments (`''` is the root). */
export function normalizeFolder(path: string, field: string, quote: Quote): string {
  const p = path.trim().replace(/^\/+|\/+$/g, '');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(p)) throw msgError(field, `${field}: a control character or backslash`);
  if (p !== '' && p.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw msgError(field, `${field}: folder "${quote(path)}" must not contain "..", "." or "//"`);
  }
  return p;
}

function msgError(field: string, message: string): NbtError {
  return new NbtError('BAD_MESSAGE', message, { details: { field } });
}
