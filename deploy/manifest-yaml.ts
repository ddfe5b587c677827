/**
 * One manifest file as YAML: parsed with line positions, problems located at the line and column
 * of their field, and the one CONFIG error that lists every problem as `FILE:LINE:COL: path: what`
 * (a problem found in an included file names that file). Pure: parses text it is given.
 *
 * Spec: docs/deploy.md (validation errors name the file, the field and what was expected).
 * @module
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import { NbtError } from '../functions/errors.js';
import type { FieldProblem } from './fields.js';

/** A problem with where it is: the file (when not the manifest itself), line and column. */
export type LocatedProblem = FieldProblem & { file?: string; line?: number; column?: number };

/** A parsed manifest file: its document (for positions) and its plain value. */
export interface YamlFile {
  file: string;
  doc: Document;
  lc: LineCounter;
  value: unknown;
}

/** Parses `text`; YAML syntax errors are thrown as one CONFIG error naming `reportAs` (the manifest) and `file`. */
export function parseYamlFile(text: string, file: string, reportAs: string = file): YamlFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw manifestError(
      reportAs,
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return { file, path: '(yaml)', message: e.message.split('\n')[0]!, line: pos.line, column: pos.col };
      }),
    );
  }
  return { file, doc, lc, value: doc.toJS({ maxAliasCount: 100 }) as unknown };
}

/** Adds the file, line and column of the field (when the YAML has it) to a problem. */
export function locate(p: FieldProblem, y: YamlFile): LocatedProblem {
  const segments =
    p.path === '(root)'
      ? []
      : p.path
          .split(/\.|\[(\d+)\]/)
          .filter((s) => s !== undefined && s !== '')
          .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  for (let n = segments.length; n >= 0; n--) {
    const node = y.doc.getIn(segments.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && Array.isArray(node.range)) {
      const pos = y.lc.linePos(node.range[0]);
      return { ...p, file: y.file, line: pos.line, column: pos.col };
    }
  }
  return { ...p, file: y.file };
}

/** The CONFIG error listing every problem of the manifest `file` (and of the files it includes). */
export function manifestError(file: string, problems: LocatedProblem[]): NbtError {
  const lines = problems.map((p) => {
    const where = `${p.file ?? file}${p.line !== undefined ? `:${p.line}:${p.column ?? 1}` : ''}`;
    return `${where}: ${p.path === '(yaml)' ? '' : `${p.path}: `}${p.message}`;
  });
  return new NbtError(
    'CONFIG',
    `invalid manifest ${file} (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
      `  ${lines.join('\n  ')}`,
    { details: { file, problems } },
  );
}
