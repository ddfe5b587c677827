/**
 * Notebook parameters, papermill-compatible: a new code cell tagged `injected-parameters` holding
 * one assignment per parameter goes right after the first cell tagged `parameters` (at the top
 * when there is none); a previous `injected-parameters` cell is replaced in place. The notebook is
 * upgraded to nbformat 4.5 with cell ids first, as papermill does (`nbformat.v4.upgrade`). Pure.
 *
 * Spec: docs/function.md;
 * https://papermill.readthedocs.io/en/latest/usage-parameterize.html ;
 * https://github.com/nteract/papermill/blob/main/papermill/parameterize.py
 * @module
 */
import type { ICodeCell } from '@jupyterlab/nbformat';
import { NbtError, type ErrorCode } from '../errors.js';
import { isObject } from '../jupyter/messages.js';
import { randomCellId, upgradeToNbformat45 } from './executed.js';
import { cellTags, notebookKernelName, type Notebook } from './model.js';
import { pythonLiteral, pythonNameProblem } from './translators/python.js';
import { rLiteral, rName, rNameProblem } from './translators/r.js';
import { TranslateError } from './translators/literal.js';
import {
  JsonSyntaxError,
  parseExactJson,
  toPlainJson,
  type Parameters,
  type ParamValue,
} from './translators/values.js';

export {
  JsonNumber,
  parseExactJson,
  stringifyExactJson,
  type Parameters,
  type ParamValue,
} from './translators/values.js';

/** Tag of the cell holding a notebook's default parameters. */
const PARAMETERS_TAG = 'parameters';
/** Tag of the cell nbtrigger (and papermill) inserts. */
export const INJECTED_TAG = 'injected-parameters';

/**
 * The error code for a bad parameter (a name that is not an identifier, a value a language cannot
 * write, a kernel language without a translator). One constant so a dedicated code can replace it.
 */
const PARAMETER_ERROR_CODE: ErrorCode = 'BAD_MESSAGE';

/** Writes parameter assignments in one kernel language. */
export interface Translator {
  /** Language key: `python` or `r`. */
  readonly language: string;
  /** Why a parameter name cannot be assigned, or undefined when it can. */
  nameProblem(name: string): string | undefined;
  /** One assignment line for a (valid) name. @throws TranslateError */
  assign(name: string, value: ParamValue): string;
  /** A one-line comment. */
  comment(text: string): string;
}

const TRANSLATORS: Record<string, Translator> = {
  python: {
    language: 'python',
    nameProblem: pythonNameProblem,
    assign: (name, value) => `${name} = ${pythonLiteral(value)}`,
    comment: (text) => `# ${text}`.trim(),
  },
  r: {
    language: 'r',
    nameProblem: rNameProblem,
    assign: (name, value) => `${rName(name)} = ${rLiteral(value)}`,
    comment: (text) => `# ${text}`.trim(),
  },
};

/** Kernelspec names whose language is known even when the notebook does not say. */
const KERNEL_LANGUAGES: Record<string, string> = {
  python: 'python',
  python2: 'python',
  python3: 'python',
  pysparkkernel: 'python',
  xpython: 'python',
  ir: 'r',
  sparkrkernel: 'r',
};

/** The language a notebook declares: `metadata.kernelspec.language`, else `metadata.language_info.name`. */
export function notebookLanguage(nb: Notebook): string | undefined {
  const md = nb.metadata as Record<string, unknown>;
  const ks = md.kernelspec;
  if (isObject(ks) && typeof ks.language === 'string' && ks.language !== '') return ks.language;
  const li = md.language_info;
  if (isObject(li) && typeof li.name === 'string' && li.name !== '') return li.name;
  return undefined;
}

/**
 * The translator for a language (case-insensitive: `python`, `R`), else for a known kernelspec name.
 * @throws NbtError when neither has one: never a silent skip.
 */
export function findTranslator(language: string | undefined, kernelName?: string): Translator {
  const byLanguage = language === undefined ? undefined : TRANSLATORS[language.toLowerCase()];
  const byKernel = kernelName === undefined ? undefined : TRANSLATORS[KERNEL_LANGUAGES[kernelName.toLowerCase()] ?? ''];
  const t = byLanguage ?? byKernel;
  if (t) return t;
  throw new NbtError(
    PARAMETER_ERROR_CODE,
    `cannot inject parameters: no translator for kernel language ${JSON.stringify(language ?? null)} ` +
      `(kernel ${JSON.stringify(kernelName ?? null)}); ` +
      `nbtrigger writes parameters for ${Object.keys(TRANSLATORS).join(' and ')} kernels`,
    { details: { field: 'parameters', language: language ?? null, kernelName: kernelName ?? null } },
  );
}

/**
 * Largest injected-parameters cell, in bytes of its JSON string (as it travels in the
 * execute_request): Jupyter Server closes a kernel WebSocket on a message over 10 MiB (Tornado's
 * `websocket_max_message_size`), so a cell near that could never run; 8 MiB leaves room for the
 * rest of the message.
 */
const MAX_INJECTED_CELL_BYTES = 8 * 1024 * 1024;

/**
 * The source of an injected-parameters cell: `# Parameters` then one assignment per parameter,
 * each line ending in a newline (papermill's `Translator.codify`).
 * @throws NbtError naming the parameter whose name or value the language cannot take.
 */
export function translateParameters(
  params: Readonly<Parameters>,
  translator: Translator,
  comment = 'Parameters',
): string {
  let out = `${translator.comment(comment)}\n`;
  for (const [name, value] of Object.entries(params)) {
    const problem = translator.nameProblem(name);
    if (problem !== undefined) {
      throw new NbtError(PARAMETER_ERROR_CODE, `parameter name ${JSON.stringify(name)} ${problem}`, {
        details: { field: `parameters.${name}` },
      });
    }
    try {
      out += `${translator.assign(name, value)}\n`;
    } catch (e) {
      if (!(e instanceof TranslateError)) throw e;
      throw new NbtError(PARAMETER_ERROR_CODE, `parameter ${JSON.stringify(name)}: ${e.message}`, {
        details: { field: `parameters.${name}`, path: e.path },
      });
    }
  }
  const bytes = Buffer.byteLength(JSON.stringify(out));
  if (bytes > MAX_INJECTED_CELL_BYTES) {
    throw new NbtError(
      PARAMETER_ERROR_CODE,
      `parameters: the injected cell would be ${bytes} bytes, over the ` +
        `${MAX_INJECTED_CELL_BYTES} a kernel message may carry (Jupyter Server closes the WebSocket at 10 MiB)`,
      { details: { field: 'parameters' } },
    );
  }
  return out;
}

/** Options of {@link injectParameters}. */
export interface InjectOptions {
  /** Kernelspec name used when the language is not known (defaults to the notebook's). */
  kernelName?: string;
  /** Text of the comment line (papermill's `comment`, default `Parameters`). */
  comment?: string;
  /** Cell id source (default: 8 random hex digits, as nbformat). */
  newId?: () => string;
  /** Told when the notebook has no cell tagged `parameters` (papermill logs the same warning). */
  onWarning?: (message: string) => void;
}

/**
 * Returns a new notebook with the parameters injected, as papermill's `parameterize_notebook`:
 * the cell is `{id, cell_type: "code", metadata: {tags: ["injected-parameters"]}, execution_count: null,
 * source, outputs: []}`, placed in place of an earlier injected cell, else after the first
 * `parameters` cell, else first; `metadata.papermill.parameters` records the values (as plain JSON).
 * With no parameters the notebook comes back unchanged (a copy), as papermill's `execute_notebook`.
 * @param language kernel language (`python`, `R`); defaults to {@link notebookLanguage}.
 * @throws NbtError (see {@link PARAMETER_ERROR_CODE}) for an unknown language, a bad name or value.
 */
export function injectParameters(
  nb: Notebook,
  params: Readonly<Parameters>,
  language?: string,
  options: InjectOptions = {},
): Notebook {
  const copy = structuredClone(nb);
  if (Object.keys(params).length === 0) return copy;
  const translator = findTranslator(language ?? notebookLanguage(nb), options.kernelName ?? notebookKernelName(nb));
  const source = translateParameters(params, translator, options.comment);
  const newId = options.newId ?? randomCellId;
  const out = upgradeToNbformat45(copy, newId);
  const ids = new Set(out.cells.map((c) => c.id));
  let id = newId();
  while (ids.has(id)) id = newId();
  const cell: ICodeCell = {
    id,
    cell_type: 'code',
    metadata: { tags: [INJECTED_TAG] },
    execution_count: null,
    source,
    outputs: [],
  };
  const injected = out.cells.findIndex((c) => cellTags(c).includes(INJECTED_TAG));
  const declared = out.cells.findIndex((c) => cellTags(c).includes(PARAMETERS_TAG));
  if (injected >= 0) out.cells.splice(injected, 1, cell);
  else if (declared >= 0) out.cells.splice(declared + 1, 0, cell);
  else {
    options.onWarning?.(`the notebook has no cell tagged "${PARAMETERS_TAG}": parameters were injected at the top`);
    out.cells.unshift(cell);
  }
  const md = out.metadata as Record<string, unknown>;
  md.papermill = { ...(isObject(md.papermill) ? md.papermill : {}), parameters: toPlainJson(params as ParamValue) };
  return out;
}

/**
 * A `-p NAME VALUE` value: JSON when the whole text parses as JSON (numbers kept exact, so
 * `1.0` is a float), else the text itself as a string. `-p x 007` is the string "007";
 * `-p x '"1"'` is the string "1"; `-p x true` is a boolean (papermill's `True` is a string here).
 */
export function parseCliValue(text: string): ParamValue {
  try {
    return parseExactJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError || e instanceof RangeError) return text;
    throw e;
  }
}

/**
 * `-p NAME VALUE` pairs in command-line order; a later value overrides an earlier one for the same
 * name, which keeps its first position (papermill's dict update).
 * @throws NbtError USAGE for an empty name.
 */
export function parseCliParameters(pairs: ReadonlyArray<readonly [string, string]>): Parameters {
  const out = new Map<string, ParamValue>();
  for (const [name, value] of pairs) {
    if (name.trim() === '')
      throw new NbtError('USAGE', `-p needs a parameter name, got ${JSON.stringify(name)}`, {
        details: { field: 'parameters' },
      });
    out.set(name, parseCliValue(value));
  }
  return Object.fromEntries(out);
}

/**
 * Merges parameter sources left to right, later ones winning per name (file, then message, then
 * `-p`, as the caller orders them); a name keeps its first position. Names become own
 * properties, `__proto__` included.
 */
export function mergeParameters(...sources: Array<Readonly<Parameters> | undefined>): Parameters {
  const out = new Map<string, ParamValue>();
  for (const s of sources) {
    for (const [k, v] of Object.entries(s ?? {})) {
      out.set(k, v);
    }
  }
  return Object.fromEntries(out);
}
