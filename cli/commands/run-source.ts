/**
 * `nbtrigger run`'s notebook reference beyond a server path: a local file (`./`, `../`, `~/`,
 * `file:///…`), `gs://…` or `https://…` (sources/source-ref.ts), read by the command itself and
 * run on the server's kernels only. The command line is the operator's: no ALLOWED_SOURCES, but
 * an https source still connects through the guarded connector (no metadata server, no redirect
 * to another host).
 *
 * Spec: docs/running.md (notebook sources).
 * @module
 */
import { homedir } from 'node:os';
import { resolveSourceDir } from '../../functions/sinks/location.js';
import type { NotebookSource } from '../../functions/sources/reader.js';
import {
  isExternalRef,
  originOf,
  parseSourceRef,
  shownUrl,
  sourceFolder,
  type ExternalRef,
} from '../../functions/sources/source-ref.js';

export interface CliSource {
  ref: ExternalRef;
  /** What the request records as `notebook`. */
  notebook: string;
  source: NotebookSource;
}

/** The external source `text` names, or undefined for a path on the server. */
export async function cliSource(text: string, cwd: string): Promise<CliSource | undefined> {
  if (!isExternalRef(text)) return undefined;
  const ref = parseSourceRef(text, { field: 'NOTEBOOK', local: { cwd, home: homedir() } });
  if (ref.kind === 'server') return undefined;
  const { openSource } = await import('../../functions/sources/open-source.js');
  const { sourceConnector } = await import('../../functions/security/guard.js');
  const origin = ref.kind === 'http' ? originOf(ref.secure, ref.host, ref.port) : 'http://invalid';
  const source = await openSource(ref, { connector: () => sourceConnector(origin), allow: () => undefined });
  return { ref, notebook: shownUrl(ref), source };
}

/** `--output` with `{sourceDir}` resolved against where the notebook came from. */
export function cliOutput(
  output: string | undefined,
  ref: ExternalRef | undefined,
  serverPath: string,
): string | undefined {
  return output === undefined ? undefined : resolveSourceDir(output, sourceFolder(ref, serverPath));
}
