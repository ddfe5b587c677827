/**
 * Cloud Asset Inventory (the @google-cloud/asset AssetServiceClient) for `plan`: the IAM policies
 * of a project's Cloud Run services in pages, where the Cloud Run Admin API reads them one service
 * at a time. The index is eventually consistent ("almost all asset updates are available in
 * minutes"), so deploy/read-invokers.ts trusts an entry only when it already shows what the plan
 * wants, and reads the rest from Cloud Run itself.
 *
 * Rules relied on, each enforced by test/helpers/grpc-asset.ts:
 * - `scope` is `projects/PROJECT_ID` (or a project number, folder, organization);
 * - `page_size` is capped at 500; fewer may come back with a `next_page_token` (follow it);
 * - `page_token` must be sent with the other parameters unchanged;
 * - `asset_types` entries are RE2 expressions; one that matches no searchable type is INVALID_ARGUMENT;
 * - with an empty `query` each result's `policy` holds all of the resource's bindings;
 * - a resource without a policy (no binding) is not in the results;
 * - the caller needs `cloudasset.assets.searchAllIamPolicies` on the scope (roles/cloudasset.viewer),
 *   and the project needs cloudasset.googleapis.com enabled.
 *
 * Spec: https://cloud.google.com/asset-inventory/docs/reference/rpc/google.cloud.asset.v1#searchalliampoliciesrequest;
 * https://cloud.google.com/asset-inventory/docs/asset-types (consistency);
 * https://cloud.google.com/asset-inventory/docs/access-control#required_permissions.
 * @module
 */
import type { AssetServiceClient } from '@google-cloud/asset';
import { INVOKER_ROLE } from '../desired.js';
import { withQuotaRetry } from '../pacing.js';
import { apiError } from './errors.js';

/** SearchAllIamPoliciesRequest.page_size: the documented cap. */
export const SEARCH_PAGE_SIZE = 500;

/** The Cloud Asset type of a Cloud Run service. */
export const RUN_SERVICE_ASSET_TYPE = 'run.googleapis.com/Service';

/**
 * `locations/L/services/S` of a Cloud Asset resource name
 * (`//run.googleapis.com/projects/P/locations/L/services/S`, P an id or a number); undefined for another.
 */
export function serviceKeyOfAsset(resource: string): string | undefined {
  const m = /^\/\/run\.googleapis\.com\/projects\/[^/]+\/(locations\/[^/]+\/services\/[^/]+)$/.exec(resource);
  return m?.[1];
}

/** `locations/L/services/S` of a Cloud Run v2 service name (`projects/P/locations/L/services/S`). */
export function serviceKeyOfName(name: string): string | undefined {
  const m = /^projects\/[^/]+\/(locations\/[^/]+\/services\/[^/]+)$/.exec(name);
  return m?.[1];
}

/** What one search read: roles/run.invoker members per service key, and the calls (pages) it took. */
export interface IndexedInvokers {
  invokers: Map<string, string[]>;
  pages: number;
}

/**
 * The roles/run.invoker members of every Cloud Run service of `project` that has a policy, from the
 * Cloud Asset index, one call a page (each page retried on a rate quota like deploy's calls).
 */
export async function searchServiceInvokers(client: AssetServiceClient, project: string): Promise<IndexedInvokers> {
  const invokers = new Map<string, string[]>();
  const request = { scope: `projects/${project}`, assetTypes: [RUN_SERVICE_ASSET_TYPE], pageSize: SEARCH_PAGE_SIZE };
  let pageToken = '';
  let pages = 0;
  try {
    do {
      const [results, next] = await withQuotaRetry(`search the IAM policies of ${project}'s services`, () =>
        client.searchAllIamPolicies({ ...request, pageToken }, { autoPaginate: false }),
      );
      pages++;
      for (const r of results) {
        const key = serviceKeyOfAsset(r.resource ?? '');
        if (key === undefined || r.assetType !== RUN_SERVICE_ASSET_TYPE) continue;
        const members = (r.policy?.bindings ?? [])
          .filter((b) => b.role === INVOKER_ROLE)
          .flatMap((b) => b.members ?? []);
        invokers.set(key, [...(invokers.get(key) ?? []), ...members]);
      }
      pageToken = next?.pageToken ?? '';
    } while (pageToken !== '');
  } catch (e) {
    throw apiError(`search the IAM policies of ${project}'s Cloud Run services (Cloud Asset API)`, e);
  }
  return { invokers, pages };
}
