/**
 * The two reference clients of the system comparison, one run each as a child process:
 * bench/classic-client.py (the classic runner's approach: contents GET, kernel POST, every cell at
 * once, done at the last reply, kernel DELETE) and bench/node-floor-client.mjs (the same run in the
 * least Node it takes: what no Node client, the CLI included, can beat).
 * @module
 */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../cli/project-root.js';
import { timeChild, type BenchServer } from './contenders.js';
import type { BenchNotebook } from './notebooks.js';

const CLASSIC_CLIENT = join(PROJECT_ROOT, 'bench', 'classic-client.py');
const FLOOR_CLIENT = join(PROJECT_ROOT, 'bench', 'node-floor-client.mjs');

export interface ClientOptions {
  /** The Node floor client instead of the classic one, run by this `node` binary. */
  floorNode?: string;
  /** Holds the client to these CPUs (`taskset -c`). */
  cpus?: string;
}

/** One run of the classic client (or the floor client): wall ms, CPU seconds; checks the last result. */
export async function clientRun(
  server: BenchServer,
  nb: BenchNotebook,
  python: string,
  opts: ClientOptions = {},
): Promise<{ ms: number; cpu: number }> {
  const [cmd, script, who] =
    opts.floorNode === undefined ? [python, CLASSIC_CLIENT, 'classic'] : [opts.floorNode, FLOOR_CLIENT, 'node floor'];
  const args = [script, `${server.host}:${server.port}`, nb.serverPath];
  const env = { ...process.env, JUPYTER_TOKEN: server.token };
  const r = await timeChild(cmd, args, { env, cpus: opts.cpus });
  if (r.code !== 0)
    throw new Error(`${who} client exited ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const out = JSON.parse(r.stdout) as { last: string | null };
  if (out.last !== nb.expectedLast)
    throw new Error(`${who} client: last result ${out.last}, expected ${nb.expectedLast}`);
  return { ms: r.ms, cpu: r.cpu };
}
