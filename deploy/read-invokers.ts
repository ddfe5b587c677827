/**
 * Who may invoke each existing service of the deployment (roles/run.invoker), read in pages where
 * possible. The Cloud Run Admin API has no list call for IAM policies: one GetIamPolicy a service.
 * The Cloud Asset index lists them, a page per 500 services, but lags behind changes (minutes), so:
 *
 * - an index entry that already shows what the plan wants (the function's account, no public
 *   member) is taken as read: no change would be planned for that service;
 * - every other service (missing from the index, or shown otherwise) is read from Cloud Run itself,
 *   so a planned IAM change always rests on a live read;
 * - with `live` (`--live-iam`), without an Asset client, or when the search fails (API not enabled,
 *   no permission, unavailable), every policy is read from Cloud Run, and a note says why.
 *
 * What the index cannot see yet: a change made by hand in the last minutes that takes away the
 * function's grant or makes a service public. `plan --live-iam` reads them all.
 *
 * Spec: docs/deploy.md (Scale); deploy/clients/asset.ts (the rules of the search).
 * @module
 */
import { searchServiceInvokers, serviceKeyOfName, type IndexedInvokers } from './clients/asset.js';
import type { DeployClients } from './clients/index.js';
import { getInvokers } from './clients/run.js';
import { DEFAULT_PACING, forEachBounded, withQuotaRetry } from './pacing.js';
import { PUBLIC_MEMBERS } from './plan.js';

export interface InvokerReadOptions {
  /** Read every policy from Cloud Run (`--live-iam`). */
  live?: boolean;
}

export interface InvokersRead {
  /** Members holding roles/run.invoker, per service name. */
  invokers: Map<string, string[]>;
  /** What the reader wants the person to know (how the policies were read, when not in pages). */
  notes: string[];
}

/** The index read, or why it failed; undefined when policies are read live (see the module). */
export type IndexRead = Promise<IndexedInvokers | Error> | undefined;

/**
 * Starts the Cloud Asset search (it needs no other read, so it runs beside the lists); undefined
 * when `live` or without an Asset client.
 */
export function startIndexRead(clients: DeployClients, project: string, opts: InvokerReadOptions = {}): IndexRead {
  if (opts.live || !clients.asset) return undefined;
  return searchServiceInvokers(clients.asset, project).catch((e: unknown) =>
    e instanceof Error ? e : new Error(String(e)),
  );
}

/** True when `members` need no IAM change: `invoker` holds the role, and nobody public does. */
export function invokersAsWanted(members: readonly string[], invoker: string): boolean {
  return members.includes(invoker) && !members.some((m) => PUBLIC_MEMBERS.includes(m));
}

/**
 * roles/run.invoker members of each of `names` (existing services the manifest wants), for a
 * deployment whose function acts as `invoker`.
 */
export async function readInvokers(
  clients: DeployClients,
  index: IndexRead,
  names: readonly string[],
  invoker: string,
): Promise<InvokersRead> {
  const invokers = new Map<string, string[]>();
  const notes: string[] = [];
  let live: readonly string[] = names;
  const read = await index;
  if (read instanceof Error) {
    notes.push(
      `IAM policies read one service at a time (${names.length} call(s)): ${read.message}. ` +
        'Enable cloudasset.googleapis.com and grant the deployer roles/cloudasset.viewer to read them in pages ' +
        '(docs/deploy.md, Scale)',
    );
  } else if (read) {
    const fromCloudRun: string[] = [];
    for (const name of names) {
      const members = read.invokers.get(serviceKeyOfName(name) ?? '');
      if (members && invokersAsWanted(members, invoker)) invokers.set(name, members);
      else fromCloudRun.push(name);
    }
    live = fromCloudRun;
  }
  const errors: unknown[] = [];
  await forEachBounded(live, DEFAULT_PACING.concurrency, async (name) => {
    try {
      invokers.set(name, await withQuotaRetry(`read the IAM policy of ${name}`, () => getInvokers(clients.run, name)));
    } catch (e) {
      errors.push(e);
    }
  });
  if (errors.length > 0) throw errors[0];
  return { invokers, notes };
}
