/**
 * `include:` in a manifest: other manifest files (or folders of them, e.g. one per team) whose
 * `notebooks:` join the manifest's. An included file holds `notebooks:` and may itself `include:`;
 * paths are relative to the file that names them; a folder includes its `.yaml`/`.yml` files in
 * name order. A file reached twice (a cycle, or two includes of one file) is a problem, as is one
 * that cannot be read. The files are read through an injected {@link ManifestSource}, so this
 * module stays pure. Spec: docs/deploy.md ("Splitting a manifest").
 * @module
 */
import { posix } from 'node:path';
import { FieldReader, join } from './fields.js';
import { locate, parseYamlFile, type LocatedProblem, type YamlFile } from './manifest-yaml.js';

/** How included files are read (the CLI passes the file system; tests a map). */
export interface ManifestSource {
  read(path: string): string;
  /** The manifest files in `path`, sorted, or undefined when `path` is not a folder. */
  folder(path: string): string[] | undefined;
}

/** Files one manifest may pull in, in all: a bound on a mistaken include of a large tree. */
export const MAX_INCLUDED_FILES = 1000;

/** An included file, parsed: its raw notebooks, and the reader that collects its problems. */
export interface IncludedFile {
  yaml: YamlFile;
  reader: FieldReader;
  notebooks: unknown[];
}

/**
 * Reads every file `include` (the value of the manifest's `include:`) reaches, depth first.
 * Problems of the `include` list itself go to `r` (the manifest's); a file's own go to its reader.
 */
export function readIncludes(
  include: unknown,
  manifest: string,
  r: FieldReader,
  source: ManifestSource | undefined,
  out: { files: IncludedFile[]; problems: LocatedProblem[] },
): void {
  const seen = new Set([posix.normalize(manifest)]);
  const visit = (list: unknown, from: string, path: string, reader: FieldReader): void => {
    const entries = reader.list(list, path) ?? [];
    entries.forEach((e, i) => {
      const at = join(path, i);
      const rel = reader.string(e, at, {
        pattern: /^(?!\/)[^\0\\]+$/,
        expect: 'a manifest file or folder, relative to this file',
      });
      if (rel === undefined) return;
      if (!source) {
        reader.problem(at, 'include: needs the manifest to be read from a file');
        return;
      }
      const target = posix.normalize(posix.join(posix.dirname(from), rel));
      let files: string[];
      try {
        files = source.folder(target) ?? [target];
      } catch (err) {
        reader.problem(at, `cannot read ${target}: ${(err as Error).message}`);
        return;
      }
      for (const file of files) {
        if (seen.has(file)) {
          reader.problem(at, `${file} is included more than once (or includes itself)`);
          continue;
        }
        if (seen.size > MAX_INCLUDED_FILES) {
          reader.problem(at, `more than ${MAX_INCLUDED_FILES} included files`);
          return;
        }
        seen.add(file);
        let text: string;
        try {
          text = source.read(file);
        } catch (err) {
          reader.problem(at, `cannot read ${file}: ${(err as Error).message}`);
          continue;
        }
        let yaml: YamlFile;
        try {
          yaml = parseYamlFile(text, file, manifest);
        } catch (err) {
          out.problems.push(...((err as { details?: { problems?: LocatedProblem[] } }).details?.problems ?? []));
          continue;
        }
        const own = new FieldReader();
        const o = own.mapping(yaml.value, '', ['notebooks', 'include']);
        const included: IncludedFile = {
          yaml,
          reader: own,
          notebooks: o ? (own.list(o.notebooks ?? [], 'notebooks') ?? []) : [],
        };
        out.files.push(included);
        if (o?.include !== undefined) visit(o.include, file, 'include', own);
      }
    });
  };
  visit(include, manifest, 'include', r);
}

/** Every problem of the included files, located in their own file. */
export function includedProblems(files: readonly IncludedFile[]): LocatedProblem[] {
  return files.flatMap((f) => f.reader.problems.map((p) => locate(p, f.yaml)));
}
