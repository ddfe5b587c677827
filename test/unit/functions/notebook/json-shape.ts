/**
 * A comparable form of exactly-read JSON values, shared by the parameter tests: a JsonNumber (a
 * number whose text is kept, functions/notebook/translators/values.ts) becomes { num: text }, and
 * -0 becomes '-0' so that deepEqual tells it from 0.
 */
import { JsonNumber } from '../../../../functions/notebook/translators/values.js';

/** A comparable form: JsonNumber → { num: text }. */
export function shape(v: unknown): unknown {
  if (v instanceof JsonNumber) return { num: v.text };
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return Object.is(v, -0) ? '-0' : v;
}
