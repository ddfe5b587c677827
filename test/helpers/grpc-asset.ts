/**
 * An in-process fake of the Cloud Asset API v1 `AssetService.SearchAllIamPolicies`, built from the
 * .proto files @google-cloud/asset ships, indexing the IAM policies of a fake Cloud Run's services
 * (test/helpers/grpc-run.ts) as Cloud Asset Inventory does: eventually. The index is the Run fake's
 * policies at the last `sync()` (`live: true` syncs before every call), so a test makes it stale.
 *
 * It refuses what the real API refuses (deploy/clients/asset.ts lists the rules with their links):
 * a `scope` that is not `projects/ID|NUMBER`, `folders/N` or `organizations/N`; an `asset_types`
 * expression matching no searchable type; a `page_token` it did not give, or sent with other
 * parameters changed: INVALID_ARGUMENT. `page_size` is capped at 500 (and at the fake's own
 * `maxPageSize`, so fewer come back than asked, with a `next_page_token`); a resource whose
 * policy has no binding is not returned. `denied` answers every call PERMISSION_DENIED, the way a
 * project without cloudasset.googleapis.com (or a caller without the permission) is answered.
 *
 * Spec: https://cloud.google.com/asset-inventory/docs/reference/rpc/google.cloud.asset.v1#searchalliampoliciesrequest.
 * @module
 */
import { createHash } from 'node:crypto';
import {
  countCalls,
  fakeClientOptions,
  grpc,
  listen,
  loadProtos,
  serviceDef,
  shutdown,
  status,
  unary,
  withFaults,
  type FakeFaults,
  type FakeServer,
} from './grpc-common.js';

/** The documented cap of SearchAllIamPoliciesRequest.page_size. */
const DOCUMENTED_MAX_PAGE = 500;

/** Searchable asset types the fake knows (a subset of https://cloud.google.com/asset-inventory/docs/asset-types). */
const SEARCHABLE = [
  'run.googleapis.com/Service',
  'run.googleapis.com/Job',
  'pubsub.googleapis.com/Topic',
  'storage.googleapis.com/Bucket',
  'cloudresourcemanager.googleapis.com/Project',
];

/** An IAM policy as the Run fake stores it (proto-loader's shape). */
export interface FakePolicy {
  version?: number;
  etag?: unknown;
  bindings?: Array<{ role: string; members: string[]; condition?: unknown }>;
}

export interface FakeAssetOptions extends FakeFaults {
  /** The project's id and number (results name the project by number, as the API does). */
  project: { id: string; number: string };
  /** The services and their policies to index: `projects/P/locations/L/services/S` → policy. */
  source: () => Iterable<[string, FakePolicy | undefined]>;
  /** Re-index before every call (no lag). Default: false (the index is what the last `sync()` saw). */
  live?: boolean;
  /** Results per page at most, below the documented 500 (default 500). */
  maxPageSize?: number;
  /** Answer PERMISSION_DENIED with this message. */
  denied?: string;
}

export interface FakeAsset extends FakeServer {
  /** Indexes the source as it is now. */
  sync(): void;
  clientOptions(): ReturnType<typeof fakeClientOptions>;
  /** Changes the fake's behaviour (denied, live) for the calls that follow. */
  set(o: Partial<Pick<FakeAssetOptions, 'denied' | 'live'>>): void;
}

/** The RE2 expressions the fake takes: an anchored JavaScript RegExp is close enough for the types tests use. */
function matchesSearchable(expr: string): boolean {
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${expr})$`);
  } catch {
    return false;
  }
  return SEARCHABLE.some((t) => re.test(t));
}

/** Starts the fake on a free port. */
export async function startFakeAsset(opts: FakeAssetOptions): Promise<FakeAsset> {
  const def = loadProtos(['google/cloud/asset/v1/asset_service.proto'], '@google-cloud/asset');
  const calls: FakeServer['calls'] = [];
  const state = { denied: opts.denied, live: opts.live ?? false };
  let index: any[] = [];
  const sync = (): void => {
    index = [];
    for (const [name, policy] of opts.source()) {
      if (!policy?.bindings?.length) continue;
      const rest = name.replace(/^projects\/[^/]+\//, '');
      index.push({
        resource: `//run.googleapis.com/projects/${opts.project.number}/${rest}`,
        assetType: 'run.googleapis.com/Service',
        project: `projects/${opts.project.number}`,
        policy: { version: policy.version ?? 1, bindings: structuredClone(policy.bindings), etag: policy.etag },
      });
    }
  };
  const scopes = new Set([`projects/${opts.project.id}`, `projects/${opts.project.number}`]);
  const paramsKey = (req: any): string =>
    createHash('sha256')
      .update(JSON.stringify([req.scope, req.query ?? '', req.pageSize ?? 0, req.assetTypes ?? [], req.orderBy ?? '']))
      .digest('hex')
      .slice(0, 16);
  const server = new grpc.Server();
  server.addService(
    serviceDef(def, 'google.cloud.asset.v1.AssetService'),
    unary(
      calls,
      withFaults(
        opts,
        {
          SearchAllIamPolicies(req) {
            if (state.denied) throw status(grpc.status.PERMISSION_DENIED, state.denied);
            if (!/^(projects\/[a-z0-9-]+|folders\/\d+|organizations\/\d+)$/.test(req.scope ?? ''))
              throw status(grpc.status.INVALID_ARGUMENT, `Invalid scope "${req.scope}"`);
            for (const t of req.assetTypes ?? [])
              if (!matchesSearchable(t))
                throw status(grpc.status.INVALID_ARGUMENT, `asset_types "${t}" matches no supported asset type`);
            if (state.live) sync();
            const wanted = (req.assetTypes ?? []).length === 0 ? undefined : (req.assetTypes as string[]);
            const hits = scopes.has(req.scope)
              ? index.filter((r) => !wanted || wanted.some((t) => new RegExp(`^(?:${t})$`).test(r.assetType)))
              : [];
            const size = Math.min(
              req.pageSize > 0 ? req.pageSize : DOCUMENTED_MAX_PAGE,
              DOCUMENTED_MAX_PAGE,
              opts.maxPageSize ?? DOCUMENTED_MAX_PAGE,
            );
            let from = 0;
            if (req.pageToken) {
              const [key, offset] = String(req.pageToken).split('.');
              from = Number(offset);
              if (key !== paramsKey(req) || !Number.isInteger(from) || from < 0 || from > hits.length)
                throw status(
                  grpc.status.INVALID_ARGUMENT,
                  'page_token is not one this search gave, or the other parameters changed',
                );
            }
            const to = Math.min(from + size, hits.length);
            return { results: hits.slice(from, to), nextPageToken: to < hits.length ? `${paramsKey(req)}.${to}` : '' };
          },
        },
        (req) => req.scope ?? '',
      ),
    ),
  );
  const port = await listen(server);
  sync();
  return {
    port,
    calls,
    sync,
    set: (o) => Object.assign(state, o),
    mutatingCalls: () => [],
    counts: () => countCalls(calls),
    clientOptions: () => fakeClientOptions(port),
    stop: () => shutdown(server),
  };
}
