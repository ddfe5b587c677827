/**
 * `--parameters-file params.yaml|json`: a mapping of parameter names to typed values.
 * JSON is read exactly (`1.0` stays a float, big integers stay exact). YAML is read as YAML 1.2
 * (the core schema: `yes` is a string and dates are strings, unlike papermill's PyYAML 1.1) with
 * the same exactness: integers are read as big integers, floats keep their float-ness.
 * `.nan`/`.inf` are refused: they are not JSON and could not be recorded. Only
 * {@link readParametersFile} does I/O; {@link parseParametersText} is pure.
 *
 * Spec: docs/function.md; https://yaml.org/spec/1.2.2/ ;
 * https://eemeli.org/yaml/#options (intAsBigInt).
 * @module
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { NbtError } from '../errors.js';
import {
  floatText,
  JsonNumber,
  JsonSyntaxError,
  parseExactJson,
  type Parameters,
  type ParamValue,
} from './translators/values.js';

export type ParametersFormat = 'json' | 'yaml';

/** The format a file name implies: `.json` is JSON, anything else YAML (which also reads most JSON). */
function parametersFormat(path: string): ParametersFormat {
  return /\.json$/i.test(path) ? 'json' : 'yaml';
}

/**
 * Parses a parameters file's text. An empty YAML document is no parameters.
 * @param label the file name shown in errors.
 * @throws NbtError USAGE naming the file and what is wrong.
 */
export function parseParametersText(
  text: string,
  label: string,
  format: ParametersFormat = parametersFormat(label),
): Parameters {
  let value: ParamValue;
  if (format === 'json') {
    try {
      value = parseExactJson(text);
    } catch (e) {
      if (e instanceof JsonSyntaxError || e instanceof RangeError)
        throw usage(label, `is not valid JSON: ${e.message}`);
      throw e;
    }
  } else {
    const doc = parseDocument(text, { intAsBigInt: true, version: '1.2', uniqueKeys: true });
    const problem = doc.errors[0];
    if (problem) throw usage(label, `is not valid YAML: ${problem.message.split('\n')[0]}`);
    let js: unknown;
    try {
      js = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw usage(label, `cannot be read: ${(e as Error).message}`);
    }
    if (js === null || js === undefined) return {};
    value = fromYaml(js, '', label);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof JsonNumber) {
    throw usage(label, 'must hold a mapping of parameter names to values');
  }
  return value;
}

/** Reads and parses a parameters file (format from the extension). */
export async function readParametersFile(path: string): Promise<Parameters> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw usage(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseParametersText(text, path);
}

/** Converts the YAML library's JS value to a parameter value, refusing anything that is not JSON. */
function fromYaml(v: unknown, path: string, label: string): ParamValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : new JsonNumber(v.toString());
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v))
      throw usage(label, `has ${v} at ${path || 'the top'}: NaN and infinities are not JSON values`);
    return Number.isInteger(v) || Object.is(v, -0) ? new JsonNumber(floatText(v)) : v;
  }
  if (Array.isArray(v)) return v.map((e, i) => fromYaml(e, `${path}[${i}]`, label));
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: { [k: string]: ParamValue } = {};
    for (const [k, e] of Object.entries(v)) {
      Object.defineProperty(out, k, {
        value: fromYaml(e, path === '' ? k : `${path}.${k}`, label),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  const what = typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'non-JSON'} value` : `a ${typeof v}`;
  throw usage(label, `has ${what} at ${path || 'the top'}, which is not a JSON value`);
}

function usage(label: string, why: string): NbtError {
  return new NbtError('USAGE', `parameters file "${label}" ${why}`, { details: { field: 'parametersFile' } });
}
