/**
 * What starting each client's process costs on this machine, beside the whole-system rounds: an
 * empty Node process (`node -e 0`), the same without NODE_EXTRA_CA_CERTS when the environment sets
 * it (Node reads and parses that whole certificate file as it starts, before any code runs), and
 * Python importing what the classic client imports. Every Node client (the CLI, the floor client)
 * pays the first; the classic client pays the last. The two Node starts again on the second Node
 * version when there is one (bench/other-node.ts).
 * @module
 */
import { timeChild } from './contenders.js';
import type { OtherNode } from './other-node.js';
import type { BenchCase } from './rounds.js';
import { fmtMs, type Samples } from './stats.js';

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

/** The case names of a Node's two starts; `major` names the second Node (`22`), empty for the bench's. */
function nodeNames(major: string): [string, string] {
  const name = `process start: node${major ? ` ${major}` : ''} -e 0`;
  return [name, `${name} without NODE_EXTRA_CA_CERTS`];
}

/** The cases: one per kind of process start. */
export function processStartCases(python: string, other?: OtherNode): BenchCase[] {
  const cases: BenchCase[] = [
    {
      name: PYTHON,
      run: () => timed(PYTHON, python, ['-c', 'import websocket, http.client, json, uuid'], process.env),
    },
  ];
  const { NODE_EXTRA_CA_CERTS: ca, ...noCa } = process.env;
  for (const [node, major] of [[process.execPath, ''], ...(other ? [[other.path, other.major]] : [])] as const) {
    const [name, nameNoCa] = nodeNames(major);
    cases.push({ name, run: () => timed(name, node, ['-e', '0'], process.env) });
    if (ca) cases.push({ name: nameNoCa, run: () => timed(nameNoCa, node, ['-e', '0'], noCa) });
  }
  return cases;
}

/** One line: the medians side by side (n/a for one not measured). */
export function reportProcessStart(s: Samples, other?: OtherNode): string {
  const starts = (major: string): string => {
    const [name, nameNoCa] = nodeNames(major);
    const ca = process.env.NODE_EXTRA_CA_CERTS ? fmtMs(s.median(nameNoCa)) : 'n/a (not set)';
    return `${fmtMs(s.median(name))} · ${ca}`;
  };
  const second = other
    ? [` · node ${other.major} · node ${other.major} without NODE_EXTRA_CA_CERTS`, ` · ${starts(other.major)}`]
    : ['', ''];
  return (
    `process start ms, node · node without NODE_EXTRA_CA_CERTS${second[0]} · python with the classic client's ` +
    `imports: ${starts('')}${second[1]} · ${fmtMs(s.median(PYTHON))}`
  );
}
