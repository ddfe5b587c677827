#!/usr/bin/env node
// The nbtrigger command: a thin shim over the compiled CLI (npm run build makes dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Resolves once everything written to `stream` so far has left the process (or the stream
 * failed, e.g. the reader of a pipe went away). On a pipe, stdout is asynchronous: a large
 * write is queued in the process, and process.exit() would drop whatever the reader had not
 * yet taken (a `--json` record cut at the pipe's 64 KiB).
 */
function flushed(stream) {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableFinished) return resolve();
    // A write's callback runs after every earlier write, with or without an error (EPIPE).
    stream.once('error', () => resolve());
    stream.write('', () => resolve());
  });
}

/** Exits with `code` once stdout and stderr are written out. */
async function exitFlushed(code) {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('nbtrigger: not built yet: run `npm run setup` (or `npm run build`) in the project first\n');
  await exitFlushed(2);
}
// Client libraries (google-gax, google-auth-library) can leave a rejected promise behind after the
// command has already reported the same failure: never crash with a stack trace because of one.
// A command that claimed success while something failed unseen still exits non-zero.
const stray = [];
process.on('unhandledRejection', (e) => stray.push(e));
const { main } = await import(entry.href);
const code = await main(process.argv.slice(2));
let exit = code;
if (code === 0 && stray.length > 0) {
  process.stderr.write(`nbtrigger: unexpected failure: ${stray[0]?.message ?? String(stray[0])}\n`);
  exit = 3;
}
// The command is done (every server and kernel it started is stopped by now): exit once its output
// is out, so nothing a library left behind (a keep-alive socket, a file operation that never
// returns) holds the process. Commands that serve until stopped (`local -f`) resolve only when
// they are stopped.
await exitFlushed(exit);
