/**
 * deploy/clients/asset.ts against the local Cloud Asset server, and that server's refusals (the
 * rules the real API documents, so a request it would refuse fails here): pages followed to the
 * end with fewer results than asked, resources without a binding left out, roles other than
 * roles/run.invoker ignored; a bad scope, an asset type matching nothing, a page token sent with
 * other parameters: INVALID_ARGUMENT.
 * Spec: https://cloud.google.com/asset-inventory/docs/reference/rpc/google.cloud.asset.v1#searchalliampoliciesrequest.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { AssetServiceClient } from '@google-cloud/asset';
import { searchServiceInvokers } from '../../../deploy/clients/asset.js';
import { startFakeAsset, type FakeAsset, type FakePolicy } from '../../helpers/grpc-asset.js';

const LOC = 'projects/p-1/locations/europe-west1/services';

function policies(): Array<[string, FakePolicy | undefined]> {
  const out: Array<[string, FakePolicy | undefined]> = [];
  for (let i = 0; i < 7; i++) {
    out.push([
      `${LOC}/s${i}`,
      {
        bindings: [
          { role: 'roles/run.invoker', members: [`serviceAccount:f${i}@p-1.iam.gserviceaccount.com`] },
          { role: 'roles/run.developer', members: ['user:dev@example.com'] },
        ],
      },
    ]);
  }
  out.push([`${LOC}/empty`, { bindings: [] }], [`${LOC}/none`, undefined]);
  return out;
}

/** The Asset server over policies(), 3 results a page at most, and a client of it. */
async function started(t: TestContext): Promise<{ fake: FakeAsset; client: AssetServiceClient }> {
  const fake = await startFakeAsset({ project: { id: 'p-1', number: '77' }, source: policies, maxPageSize: 3 });
  const client = new AssetServiceClient(fake.clientOptions());
  t.after(async () => {
    await client.close();
    await fake.stop();
  });
  return { fake, client };
}

test('searchServiceInvokers follows every page and keeps roles/run.invoker members per service', async (t) => {
  const { fake, client } = await started(t);
  const got = await searchServiceInvokers(client, 'p-1');
  assert.equal(got.pages, 3, '7 results, 3 a page');
  assert.equal(fake.counts().SearchAllIamPolicies, 3);
  assert.deepEqual(
    [...got.invokers.keys()].sort(),
    [0, 1, 2, 3, 4, 5, 6].map((i) => `locations/europe-west1/services/s${i}`),
  );
  assert.deepEqual(got.invokers.get('locations/europe-west1/services/s4'), [
    'serviceAccount:f4@p-1.iam.gserviceaccount.com',
  ]);
  assert.equal(fake.calls[0]!.request.pageSize, 500, 'asks for the documented maximum');
});

test('the Asset server refuses what the API refuses', async (t) => {
  const { client } = await started(t);
  const invalid = { code: 3 };
  await assert.rejects(client.searchAllIamPolicies({ scope: 'project/p-1' }, { autoPaginate: false }), invalid);
  await assert.rejects(
    client.searchAllIamPolicies(
      { scope: 'projects/p-1', assetTypes: ['run.googleapis.com/Servic'] },
      { autoPaginate: false },
    ),
    invalid,
  );
  const [, next] = await client.searchAllIamPolicies(
    { scope: 'projects/p-1', assetTypes: ['run.googleapis.com/Service'] },
    { autoPaginate: false },
  );
  assert.ok(next?.pageToken);
  await assert.rejects(
    client.searchAllIamPolicies(
      { scope: 'projects/p-1', assetTypes: ['run.googleapis.com/.*'], pageToken: next.pageToken },
      { autoPaginate: false },
    ),
    invalid,
    'a page token with another asset_types',
  );
  const [byNumber] = await client.searchAllIamPolicies(
    { scope: 'projects/77', assetTypes: ['run.googleapis.com/.*'], pageSize: 1000 },
    { autoPaginate: false },
  );
  assert.equal(byNumber.length, 3);
  assert.match(
    byNumber[0]!.resource ?? '',
    /^\/\/run\.googleapis\.com\/projects\/77\/locations\/europe-west1\/services\/s0$/,
  );
  const [other] = await client.searchAllIamPolicies({ scope: 'projects/p-2' }, { autoPaginate: false });
  assert.deepEqual(other, [], 'another project: nothing');
});
