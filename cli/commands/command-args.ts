/**
 * What every command shares: where it writes and reads its environment (`CommandIo`, replaced in
 * tests), and argument parsing with the same answers everywhere: a bad argument prints the
 * error and the usage (exit 2), `--help` prints the usage (exit 0).
 *
 * Spec: https://nodejs.org/api/util.html#utilparseargsconfig
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command's output streams and environment. */
export interface CommandIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
}

/** The process's own streams and environment. */
export function processIo(): CommandIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** What `parseArgs` returns for `config`. */
export type ParsedArgs<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>>;

/** Parses `config.args`; on an error or `--help`, writes what the user needs and returns the exit code instead. */
export function parseCommandArgs<T extends ParseArgsConfig>(
  command: string,
  usage: string,
  config: T,
  io: Pick<CommandIo, 'stdout' | 'stderr'>,
): ParsedArgs<T> | number {
  let parsed: ParsedArgs<T>;
  try {
    parsed = parseArgs(config);
  } catch (e) {
    io.stderr.write(`nbtrigger ${command}: ${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  if ((parsed.values as { help?: unknown }).help === true) {
    io.stdout.write(usage);
    return 0;
  }
  return parsed;
}
