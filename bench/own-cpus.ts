/**
 * The CLI and the reference clients against a stock server held to CPUs of its own: the server and
 * every kernel it starts on CPUs 1…N−1, each client on CPU 0 (`taskset`), as a client and a Cloud
 * Run server are on different machines. On the shared cores of the other cases a Node client, which
 * spends more CPU than the Python one (V8 compiles and collects on threads of its own), competes
 * with the kernel's start; here it does not. No cases with fewer than 2 CPUs or without `taskset`.
 * @module
 */
import { cpus } from 'node:os';
import { clientRun } from './clients.js';
import { nbtriggerCli } from './contenders.js';
import { pin } from './concurrency.js';
import type { BenchNotebook } from './notebooks.js';
import type { OtherNode } from './other-node.js';
import type { BenchCase } from './rounds.js';
import { spawnServer } from './servers.js';
import { fmtRatios } from './paired.js';
import type { Samples } from './stats.js';

const CLIENT_CPU = '0';
const SUFFIX = ', server on own CPUs';
/**
 * The CLI again without NODE_EXTRA_CA_CERTS when the environment sets it: Node 20 parses that file
 * as it starts, before any code runs (Node 22 only once a TLS connection needs it).
 */
const NO_CERTS = ' without NODE_EXTRA_CA_CERTS';

export interface OwnCpusBench {
  cases: BenchCase[];
  stop(): Promise<void>;
}

/** The Node versions the Node clients run on: this one, and the second one if any. [tag, node binary] */
function nodes(other: OtherNode | undefined): [string, string][] {
  return [['', process.execPath], ...(other ? [[other.tag, other.path] as [string, string]] : [])];
}

export async function ownCpusBench(
  root: string,
  sizes: BenchNotebook[],
  token: string,
  python: string,
  other: OtherNode | undefined,
): Promise<OwnCpusBench> {
  const n = cpus().length;
  if (n < 2) return { cases: [], stop: async () => {} };
  const server = await spawnServer('stock', { root, token });
  // Kernels are the server's children: they inherit its CPUs.
  if (!pin(server.pid, `1-${n - 1}`)) {
    await server.stop();
    return { cases: [], stop: async () => {} };
  }
  const cases: BenchCase[] = [];
  for (const nb of sizes) {
    const classic = `classic client${SUFFIX} (${nb.label})`;
    cases.push({
      name: classic,
      run: async () => ({ [classic]: (await clientRun(server, nb, python, { cpus: CLIENT_CPU })).ms }),
    });
    for (const [tag, node] of nodes(other)) {
      const floor = `node floor client${tag}${SUFFIX} (${nb.label})`;
      cases.push({
        name: floor,
        run: async () => ({ [floor]: (await clientRun(server, nb, python, { floorNode: node, cpus: CLIENT_CPU })).ms }),
      });
      const name = `nbtrigger CLI${tag}${SUFFIX} (${nb.label})`;
      const cli = nbtriggerCli(server, nb, { tag: `${tag}${SUFFIX}`, node, cpus: CLIENT_CPU });
      const own = `nbtrigger${tag}${SUFFIX} (${nb.label})`; // nbtriggerCli's name
      cases.push({ name, run: async () => ({ [name]: (await cli())[own]! }) });
    }
    if (process.env.NODE_EXTRA_CA_CERTS !== undefined) {
      const name = `nbtrigger CLI${NO_CERTS}${SUFFIX} (${nb.label})`;
      const env = { NODE_EXTRA_CA_CERTS: undefined };
      const cli = nbtriggerCli(server, nb, { tag: `${NO_CERTS}${SUFFIX}`, env, cpus: CLIENT_CPU });
      const own = `nbtrigger${NO_CERTS}${SUFFIX} (${nb.label})`;
      cases.push({ name, run: async () => ({ [name]: (await cli())[own]! }) });
    }
  }
  return { cases, stop: () => server.stop() };
}

/** Ratios of the Node clients to the classic client, each with the server on its own CPUs. */
export function reportOwnCpus(s: Samples, labels: string[], other: OtherNode | undefined): string[] {
  const out: string[] = [];
  for (const l of labels) {
    const classic = s.values(`classic client${SUFFIX} (${l})`);
    if (classic.length === 0) continue;
    const base = `classic client${SUFFIX} (${l})`;
    const who = nodes(other).flatMap(([tag]) => [`nbtrigger CLI${tag}`, `node floor client${tag}`]);
    if (s.values(`nbtrigger CLI${NO_CERTS}${SUFFIX} (${l})`).length > 0) who.splice(1, 0, `nbtrigger CLI${NO_CERTS}`);
    for (const w of who)
      out.push(`ratio ${w}/classic client${SUFFIX} (${l}): ${fmtRatios(s, `${w}${SUFFIX} (${l})`, base)}`);
  }
  return out;
}
