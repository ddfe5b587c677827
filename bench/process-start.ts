/**
 * What starting each client's process costs on this machine, beside the whole-system rounds: an
 * empty Node process (`node -e 0`), the same without NODE_EXTRA_CA_CERTS when the environment sets
 * it (Node reads and parses that whole certificate file as it starts, before any code runs), and
 * Python importing what the classic client imports. Every Node client (the CLI, the floor client)
 * pays the first; the classic client pays the last.
 * @module
 */
import { timeChild } from './contenders.js';
import type { BenchCase } from './rounds.js';
import { fmtMs, type Samples } from './stats.js';

const NODE = 'process start: node -e 0';
const NODE_NO_CA = 'process start: node -e 0 without NODE_EXTRA_CA_CERTS';
const PYTHON = "process start: python3 -c 'import websocket, http.client, json, uuid'";

async function timed(
  name: string,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<Record<string, number>> {
  const r = await timeChild(cmd, args, { env });
  if (r.code !== 0) throw new Error(`${name}: exited ${r.code}: ${r.stderr.trim().slice(-300)}`);
  return { [name]: r.ms };
}

/** The cases: one per kind of process start. */
export function processStartCases(python: string): BenchCase[] {
  const cases: BenchCase[] = [
    { name: NODE, run: () => timed(NODE, process.execPath, ['-e', '0'], process.env) },
    {
      name: PYTHON,
      run: () => timed(PYTHON, python, ['-c', 'import websocket, http.client, json, uuid'], process.env),
    },
  ];
  if (process.env.NODE_EXTRA_CA_CERTS) {
    const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
    cases.push({ name: NODE_NO_CA, run: () => timed(NODE_NO_CA, process.execPath, ['-e', '0'], env) });
  }
  return cases;
}

/** One line: the three medians side by side (n/a for one not measured). */
export function reportProcessStart(s: Samples): string {
  const ca = process.env.NODE_EXTRA_CA_CERTS ? fmtMs(s.median(NODE_NO_CA)) : 'n/a (not set)';
  return (
    `process start ms, node · node without NODE_EXTRA_CA_CERTS · python with the classic client's imports: ` +
    `${fmtMs(s.median(NODE))} · ${ca} · ${fmtMs(s.median(PYTHON))}`
  );
}
