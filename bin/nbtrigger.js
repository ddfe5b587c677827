#!/usr/bin/env node
// The nbtrigger command: a thin shim over the compiled CLI (npm run build makes dist/).
import { existsSync, statSync } from 'node:fs';
import { loadBundle } from './load-bundle.js';
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

/**
 * The CLI's `main`: from the bundle `npm run build` makes (scripts/bundle-cli.mjs), which starts faster
 * than the ≈85 modules it is made of, when it is at least as new as the compiled CLI (so a `tsc` run
 * without the bundle step never runs stale code); else, or with NBTRIGGER_CLI_BUNDLE=0, the compiled CLI.
 */
async function loadMain() {
  const bundle = fileURLToPath(new URL('../dist/bundle/nbtrigger.cjs', import.meta.url));
  const off = process.env.NBTRIGGER_CLI_BUNDLE === '0';
  const bundleTime = off ? undefined : statSync(bundle, { throwIfNoEntry: false })?.mtimeMs;
  const fresh = bundleTime !== undefined && bundleTime >= statSync(fileURLToPath(compiled)).mtimeMs;
  if (fresh) return loadBundle(bundle).main;
  return (await import(compiled.href)).main;
}

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(compiled))) {
  process.stderr.write('nbtrigger: not built yet: run `npm run setup` (or `npm run build`) in the project first\n');
  await exitFlushed(2);
}
// `run --server` on a loopback server: its kernel is asked for now, before the CLI loads
// (bin/early-kernel.js). Until the command has a signal handler of its own (it stops the run and
// deletes its kernels), a signal deletes that kernel and ends the process.
const preStarted =
  process.argv[2] === 'run'
    ? (await import('./early-kernel.js')).preStartKernel(process.argv.slice(3), process.env)
    : undefined;
const SIGNALS = ['SIGINT', 'SIGTERM'];
let stopping = false;
const onEarlySignal = (signal) => {
  if (process.listenerCount(signal) > 1) return; // the command's own handler takes it
  stopping = true;
  void preStarted.discard().finally(() => exitFlushed(signal === 'SIGINT' ? 130 : 143));
};
if (preStarted) for (const s of SIGNALS) process.on(s, onEarlySignal);
await preStarted?.leaving;
let main;
try {
  main = await loadMain();
} catch (e) {
  await preStarted?.discard();
  throw e;
}
// Stopped by a signal while loading: the process ends once that kernel is deleted; the command never starts.
if (stopping) await new Promise(() => {});
// Client libraries (google-gax, google-auth-library) can leave a rejected promise behind after the
// command has already reported the same failure: never crash with a stack trace because of one.
// A command that claimed success while something failed unseen still exits non-zero.
const stray = [];
process.on('unhandledRejection', (e) => stray.push(e));
let code;
try {
  code = await main(process.argv.slice(2), preStarted ? { preStarted } : {});
} finally {
  await preStarted?.discard(); // the run took it, or it goes now
  for (const s of SIGNALS) process.off(s, onEarlySignal);
}
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
