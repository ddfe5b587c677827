/**
 * Runs the real `nbtrigger` command (bin/nbtrigger.js) as a child process and collects its
 * output, with a hard time limit so a hang fails the test instead of stalling the suite.
 * @module
 */
import { request } from 'undici';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../cli/project-root.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Options for node itself, before the script (e.g. `--import` of a module-load tracer). */
  nodeArgs?: string[];
}

export const BIN = join(PROJECT_ROOT, 'bin', 'nbtrigger.js');

/** Starts the CLI; `result` resolves when it exits (or rejects after `timeoutMs`, killing it). */
export function startCli(args: string[], opts: CliOptions = {}): { child: ChildProcess; result: Promise<CliResult> } {
  const started = Date.now();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`nbtrigger ${args.join(' ')} did not exit within ${opts.timeoutMs ?? 60000} ms\nstderr: ${stderr}`),
      );
    }, opts.timeoutMs ?? 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
  return { child, result };
}

/** Runs the CLI to completion. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).result;
}

/** Whether nothing answers HTTP at `url` any more (a stopped server's port), within 1 s. */
export async function portClosed(url: string): Promise<boolean> {
  try {
    await request(url, { headersTimeout: 1000 });
    return false;
  } catch {
    return true;
  }
}
