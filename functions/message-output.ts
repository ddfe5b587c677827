/**
 * Where one message's run writes its executed notebook, settled before anything runs: the
 * message's own output template (with `{sourceDir}` resolved, checked against the outputs a
 * message may choose and the notebook sources, confined to the runs folder when local), else the
 * deployment's configured one. A bad or refused template is a bad message (acknowledged).
 *
 * Spec: docs/function.md (outputs); the allowlists: security/outputs.ts and security/sources.ts.
 * @module
 */
import type { FunctionConfig, HandlerEnv } from './config.js';
import { NbtError } from './errors.js';
import type { RunRequest } from './request/grammar.js';
import { messageOutputRefusal, outputAllowlist, type OutputPattern } from './security/outputs.js';
import { outputOverSourcesRefusal, sourceAllowlist, type SourcePattern } from './security/sources.js';
import { resolveSourceDir } from './sinks/location.js';
import { sourceFolder } from './sources/source-ref.js';

/** The run's output template, and the sink settings that confine a message's own local output. */
export interface MessageOutputs {
  output: string | undefined;
  confined: { baseDir: string; confineTo: string } | undefined;
}

/** The output of a message's run (none when neither the message nor the deployment names one). */
export function messageOutputs(request: RunRequest, env: HandlerEnv, cfg: FunctionConfig): MessageOutputs {
  const own = request.output === undefined ? undefined : withSourceDir(request.output, request);
  // The deployment's own output may use {sourceDir} too; for a source with no folder (https) the
  // write then fails as an output error in the record, never the run.
  const output = own ?? (cfg.output === undefined ? undefined : configuredOutput(cfg.output, request));
  // A message's own output is confined (security/outputs.ts); a local one lands in the runs folder.
  const confined =
    own === undefined
      ? undefined
      : checkOutput(own, request, outputAllowlist(env, cfg.output), sourceAllowlist(env, cfg.output), cfg.runsDir);
  return { output, confined };
}

/**
 * A message's output template must parse and be one a message may choose, before anything runs
 * (a bad or refused one is a bad message, acknowledged). Returns the sink settings that keep a
 * local output inside the runs folder.
 */
function checkOutput(
  template: string,
  request: RunRequest,
  patterns: OutputPattern[],
  sources: SourcePattern[],
  runsDir: string,
): { baseDir: string; confineTo: string } {
  const why =
    messageOutputRefusal(template, request.notebook, request.server, patterns) ??
    outputOverSourcesRefusal(template, request.notebook, sources);
  if (why !== undefined) throw new NbtError('BAD_MESSAGE', `output: ${why}`, { details: { field: 'output' } });
  return { baseDir: runsDir, confineTo: runsDir };
}

/** A message's output with `{sourceDir}` resolved (a bad use is a bad message). */
function withSourceDir(template: string, request: RunRequest): string {
  let out: string;
  try {
    out = resolveSourceDir(template, sourceFolder(request.source, request.notebook));
  } catch (e) {
    throw new NbtError('BAD_MESSAGE', `output: ${(e as Error).message}`, { details: { field: 'output' } });
  }
  // Nothing is written to the server's files for a notebook read elsewhere (or on a kernel-only server).
  if ((request.source || request.kernelOnly) && out.trim().startsWith('server:')) {
    throw new NbtError(
      'BAD_MESSAGE',
      "output: a server: output needs the notebook to be the server's own file " +
        '(this one is read from elsewhere, or the server is kernel-only): use gs:// or a path',
      { details: { field: 'output' } },
    );
  }
  return out;
}

function configuredOutput(template: string, request: RunRequest): string {
  try {
    return resolveSourceDir(template, sourceFolder(request.source, request.notebook));
  } catch {
    return template;
  }
}
